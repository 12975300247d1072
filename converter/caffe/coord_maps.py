"""HED's Crop (s9xie/hed, whose Caffe comes from longjon's "future" branch): no parameters; the
offsets come from the net's coordinate maps (that fork's crop_layer.cpp LayerSetUp and
include/caffe/util/coords.hpp).

Each layer maps its first bottom's coordinates to its top's, per spatial axis, as x -> a * x + b
(`coord_map()`): Convolution and Pooling the inverse of FilterMap(kernel, stride, pad) = (stride,
(kernel - 1) / 2 - pad), Deconvolution FilterMap itself, Crop (1, -offset), and the identity for
the layers that keep positions (the neuron layers, Concat, Eltwise, LRN, MVN, Softmax, Split,
Slice). Any other layer has none: the fork's Caffe stops (NOT_IMPLEMENTED) when a Crop needs it.

The Crop walks back from its first bottom through each producer's first bottom to the net input,
then from its second bottom until it meets that path (the first layer producing a blob counts, so
in-place layers are passed over); the maps composed along both walks give bottom[0] -> bottom[1]
coordinates, which must be (1, -c) with c a non-negative integer: the crop offset on that axis.
Computed exactly here (fractions), where the fork uses float and CHECK_DOUBLE_EQ.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from converter.caffe.layers.common import spatial_param
from converter.caffe.net import CaffeLayer
from converter.errors import ModelError

AxisMap = tuple[Fraction, Fraction]  # x -> a * x + b
CoordMap = tuple[AxisMap, AxisMap]  # height, width

IDENTITY_TYPES = frozenset({
    "AbsVal", "BNLL", "Dropout", "Exp", "Log", "Power", "ReLU", "Sigmoid", "TanH", "Threshold", "PReLU",
    "Concat", "Eltwise", "LRN", "MVN", "Softmax", "Split", "Slice",
})
IDENTITY: CoordMap = ((Fraction(1), Fraction(0)), (Fraction(1), Fraction(0)))


class NoCoordMap(ModelError):
    """A layer on a Crop's path whose coordinates HED's Caffe cannot map."""


def _compose(left: CoordMap, right: CoordMap) -> CoordMap:
    """`left` after `right`."""
    return tuple((la * ra, la * rb + lb) for (la, lb), (ra, rb) in zip(left, right, strict=True))  # type: ignore[return-value]


def _inverse(m: CoordMap) -> CoordMap:
    return tuple((1 / a, -b / a) for a, b in m)  # type: ignore[return-value]


def _filter_map(kernel: tuple[int, int], stride: tuple[int, int], pad: tuple[int, int]) -> CoordMap:
    return tuple((Fraction(s), Fraction(k - 1, 2) - p) for k, s, p in zip(kernel, stride, pad, strict=True))  # type: ignore[return-value]


def _pooling_pair(layer: CaffeLayer, p: object, name: str, default: int) -> tuple[int, int]:
    if p.HasField(f"{name}_h") or p.HasField(f"{name}_w"):  # type: ignore[attr-defined]
        return int(getattr(p, f"{name}_h")), int(getattr(p, f"{name}_w"))
    field = "kernel_size" if name == "kernel" else name
    return (int(getattr(p, field)),) * 2 if p.HasField(field) else (default, default)  # type: ignore[attr-defined]


def layer_map(layer: CaffeLayer, offsets: dict[str, tuple[int, int]]) -> CoordMap:
    """The layer's coord_map() in HED's Caffe; `offsets` holds the crops already resolved."""
    if layer.type in IDENTITY_TYPES:
        return IDENTITY
    if layer.type in ("Convolution", "Deconvolution"):
        p = layer.param.convolution_param
        if any(d != 1 for d in p.dilation):
            raise NoCoordMap("HED's Caffe has no dilated convolution, so its Crop cannot map coordinates "
                             "through this layer", layer=layer.name)
        window = _filter_map(spatial_param(layer, p, "kernel", 0), spatial_param(layer, p, "stride", 1),
                             spatial_param(layer, p, "pad", 0))
        return window if layer.type == "Deconvolution" else _inverse(window)
    if layer.type == "Pooling":
        p = layer.param.pooling_param
        if p.global_pooling:
            raise NoCoordMap("a global Pooling on the path of a Crop without crop_param: HED's Caffe maps "
                             "coordinates through it only with the bottom's size, which is not done here",
                             layer=layer.name)
        return _inverse(_filter_map(_pooling_pair(layer, p, "kernel", 0), _pooling_pair(layer, p, "stride", 1),
                                    _pooling_pair(layer, p, "pad", 0)))
    if layer.type == "Crop" and layer.name in offsets:
        h, w = offsets[layer.name]
        return ((Fraction(1), Fraction(-h)), (Fraction(1), Fraction(-w)))
    raise NoCoordMap(f"HED's Caffe has no coordinate map for {layer.type} layers, so a Crop without crop_param "
                     "cannot be aligned through it", layer=layer.name)


def hed_crop_offsets(layers: Sequence[CaffeLayer], crop: CaffeLayer,
                     offsets: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """The (height, width) offsets HED's Caffe computes for `crop` (two bottoms, no crop_param);
    `layers` are the net's layers in order, `offsets` the earlier crops'."""
    producer: dict[str, CaffeLayer] = {}
    for layer in layers:
        if layer is crop:
            break
        for top in layer.tops:
            producer.setdefault(top, layer)
    path = [crop.bottoms[0]]
    while path[-1] in producer and producer[path[-1]].bottoms:
        path.append(producer[path[-1]].bottoms[0])
    meeting = crop.bottoms[1]
    while meeting not in path:
        if meeting not in producer or not producer[meeting].bottoms:
            raise ModelError(f"HED's Crop cannot align apparently disconnected blobs: '{crop.bottoms[1]}' does not "
                             f"lead back to the path of '{crop.bottoms[0]}'", layer=crop.name)
        meeting = producer[meeting].bottoms[0]
    maps = []
    for start in crop.bottoms[:2]:
        composed, blob = IDENTITY, start
        while blob != meeting:
            composed = _compose(composed, layer_map(producer[blob], offsets))
            blob = producer[blob].bottoms[0]
        maps.append(composed)
    crop_map = _compose(maps[1], _inverse(maps[0]))
    found = []
    for axis, (scale, shift) in zip("HW", crop_map, strict=True):
        if scale != 1:
            raise ModelError(f"HED's Crop: the two bottoms' coordinates differ in scale ({scale}) along {axis}: "
                             "no offset aligns them", layer=crop.name)
        if shift > 0 or shift.denominator != 1:
            raise ModelError(f"HED's Crop: the coordinate maps put bottom '{crop.bottoms[1]}' at {-shift} along "
                             f"{axis} of '{crop.bottoms[0]}' (a negative or fractional crop, which HED's Caffe "
                             "refuses)", layer=crop.name)
        found.append(int(-shift))
    return found[0], found[1]
