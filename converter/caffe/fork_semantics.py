"""Where Caffe builds read the same prototxt differently: the Caffe a net was written for.

The YOLOv3 ports' Caffe (ChenYingpeng/darknet2caffe's `caffe_layers/pooling_layer/pooling_layer.cpp`,
copied over BVLC's by the ports that run darknet2caffe's nets, "only work for yolov3-tiny, use with
caution") changed Pooling's Reshape so that darknet's maxpool of size 2 and stride 1 keeps the
map's size: after BVLC's output size, `if ((kernel_h_ - stride_h_) % 2 == 1)` both the output
height and width get one more window (C++ `%`: only a positive odd difference), the window
clipped to the input as BVLC's forward pass clips every window. It applies to every Pooling that
Caffe runs, so a net is either BVLC's or that build's, whatever layers it holds.

HED's Caffe (s9xie/hed, from longjon's "future" branch) has a Crop without parameters whose
offsets come from the net's coordinate maps (converter.caffe.coord_maps); BVLC's Crop without
crop_param crops at offset 0.

Which one: `--caffe-fork` (`caffe_fork=` in the library) says it. Otherwise BVLC's reading is
taken when the net's shapes fit it; when they do not (YOLOv3-tiny: BVLC's size-2 stride-1 pooling
makes 12 of 13, and the route's Concat of the upsampled map no longer fits) and they fit the
YOLOv3 build's, that one is taken and a note says so. When both fit but a Pooling would differ
and the net holds the YOLO ports' one-bottom Upsample, BVLC's is kept and the note says that the
other reading exists and how to choose it. A Crop without crop_param that HED's Caffe would offset
cannot be told apart at all: such a net is refused unless the Caffe is given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar, Token

from converter.caffe.net import CaffeLayer, Shape
from converter.errors import ConverterError, ModelError

BVLC = "bvlc"
YOLOV3 = "yolov3"
HED = "hed"
CAFFE_FORKS = {
    BVLC: "BVLC Caffe's Pooling and Crop (and every fork that kept them)",
    YOLOV3: "the YOLOv3 ports' Caffe (darknet2caffe's pooling_layer.cpp: one more window when kernel - stride is "
            "odd)",
    HED: "HED's Caffe (s9xie/hed, longjon's future branch: a Crop without crop_param aligns its bottoms by the "
         "net's coordinate maps)",
}

_chosen: ContextVar[str | None] = ContextVar("caffe_fork", default=None)


def use_caffe_fork(name: str | None) -> Token:
    """Make `name` the Caffe every net is read for until `reset_caffe_fork(token)` (the command line's
    --caffe-fork)."""
    check_caffe_fork(name)
    return _chosen.set(name)


def reset_caffe_fork(token: Token) -> None:
    _chosen.reset(token)


def check_caffe_fork(name: str | None) -> None:
    if name is not None and name not in CAFFE_FORKS:
        raise ConverterError(f"unknown Caffe fork {name!r}; choose from {', '.join(CAFFE_FORKS)}")


def yolo_extra_window(kernel_h: int, stride_h: int) -> bool:
    """darknet2caffe's `(kernel_h_ - stride_h_) % 2 == 1`, with C++'s `%` (the sign of the dividend)."""
    difference = kernel_h - stride_h
    return difference > 0 and difference % 2 == 1


def _assign(layers: Sequence[CaffeLayer], fork: str) -> None:
    for layer in layers:
        if layer.type == "Pooling":
            layer.fork = fork if fork == YOLOV3 else ""


def _differing_poolings(layers: Sequence[CaffeLayer]) -> list[str]:
    """The Pooling layers (shapes inferred) whose output the two readings size differently."""
    from converter.caffe.layers.pooling import geometry

    found = []
    for layer in layers:
        if layer.type == "Pooling":
            g = geometry(layer, layer.bottom_shapes)
            if yolo_extra_window(g.kernel[0], g.stride[0]):
                found.append(layer.name)
    return found


def _parameterless_crops(layers: Sequence[CaffeLayer]) -> list[CaffeLayer]:
    return [layer for layer in layers if layer.type == "Crop" and len(layer.bottoms) == 2
            and not layer.param.HasField("crop_param")]


def _hed_offsets(layers: Sequence[CaffeLayer]) -> dict[str, tuple[int, int]]:
    """Each parameterless Crop's offsets in HED's Caffe, in net order (a Crop may lie on a later one's path)."""
    from converter.caffe.coord_maps import hed_crop_offsets

    offsets: dict[str, tuple[int, int]] = {}
    for crop in _parameterless_crops(layers):
        offsets[crop.name] = hed_crop_offsets(layers, crop, offsets)
    return offsets


def _apply_hed_offsets(layers: Sequence[CaffeLayer], offsets: Mapping[str, tuple[int, int]]) -> None:
    """HED's Crop as BVLC's with those offsets: from axis 2, to bottom[1]'s height and width."""
    for layer in layers:
        if layer.name in offsets:
            param = type(layer.param)()
            param.CopyFrom(layer.param)
            param.crop_param.axis = 2
            param.crop_param.offset[:] = offsets[layer.name]
            layer.param, layer.fork = param, HED


def _resolve_crops(layers: Sequence[CaffeLayer], chosen: str | None) -> str | None:
    """HED's Crop offsets when the net is read for HED's Caffe. Without a choice: where HED's Caffe
    could run the net and would offset a Crop, its reading and BVLC's (offset 0) differ and nothing
    in the file tells them apart, so the net is refused, asking which Caffe."""
    crops = _parameterless_crops(layers)
    if not crops or chosen in (BVLC, YOLOV3):
        return chosen
    if chosen == HED:
        _apply_hed_offsets(layers, _hed_offsets(layers))
        return chosen
    try:
        offsets = _hed_offsets(layers)
    except ModelError:
        return chosen  # HED's Caffe could not run it: BVLC's reading
    shifted = {name: offset for name, offset in offsets.items() if offset != (0, 0)}
    if shifted:
        listed = ", ".join(f"'{name}' at {list(offset)}" for name, offset in shifted.items())
        raise ModelError(f"Crop without crop_param reads differently in two Caffes: BVLC's crops at offset 0, HED's "
                         f"(s9xie/hed, longjon's future branch) aligns the bottoms by the net's coordinate maps: "
                         f"{listed} (height, width); say which with --caffe-fork hed or --caffe-fork bvlc "
                         f"(library: caffe_fork=)", layer=next(iter(shifted)))
    return chosen


def infer_for_fork(layers: Sequence[CaffeLayer], inputs: Mapping[str, Shape],
                   infer: Callable[[Sequence[CaffeLayer], Mapping[str, Shape]], None],
                   caffe_fork: str | None = None) -> tuple[str, list[str]]:
    """Run shape inference `infer` under the Caffe the net was written for (see the module
    docstring); the Caffe taken and notes saying why, when it was not plain."""
    chosen = caffe_fork if caffe_fork is not None else _chosen.get()
    check_caffe_fork(chosen)
    chosen = _resolve_crops(layers, chosen)
    if chosen is not None:
        _assign(layers, chosen)
        infer(layers, inputs)
        return chosen, []
    _assign(layers, BVLC)
    try:
        infer(layers, inputs)
    except ModelError as bvlc_error:
        if not any(layer.type == "Pooling" for layer in layers):
            raise
        _assign(layers, YOLOV3)
        try:
            infer(layers, inputs)
        except ModelError:
            raise bvlc_error from None
        poolings = _differing_poolings(layers)
        if not poolings:
            raise bvlc_error from None
        return YOLOV3, [f"the net's shapes do not fit BVLC Caffe's Pooling ({bvlc_error}) but fit the YOLOv3 ports' "
                        f"Caffe, whose Pooling adds a window when kernel - stride is odd: Pooling "
                        f"{', '.join(repr(n) for n in poolings)} follow that rule (--caffe-fork says which Caffe)"]
    poolings = _differing_poolings(layers)
    if poolings and any(layer.type == "Upsample" and len(layer.bottoms) == 1 for layer in layers):
        return BVLC, [f"the net holds the YOLOv3 ports' Upsample, and Pooling {', '.join(repr(n) for n in poolings)} "
                      "would have one more window in those ports' Caffe; both readings fit the net's shapes, so "
                      "BVLC Caffe's is taken: give --caffe-fork yolov3 if the net was made for that Caffe"]
    return BVLC, []
