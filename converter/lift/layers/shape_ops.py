"""Caffe's shape layers: Slice, Flatten, Reshape, Crop, and the forks' ShuffleChannel and Permute."""

import math

from converter.caffe.layers.common import canonical_axis
from converter.caffe.layers.crop import crop_window
from converter.caffe.layers.permute import full_order
from converter.caffe.layers.shuffle_channel import group_of
from converter.caffe.layers.slice import axis_and_sizes
from converter.caffe.net import CaffeLayer, Shape
from converter.ir import Crop, Flatten, Reshape, ShuffleChannel, Slice, Transpose
from converter.lift.registry import converts, io


@converts("Slice")
def slice_(layer: CaffeLayer) -> Slice:
    axis, sizes = axis_and_sizes(layer, layer.bottom_shapes[0])
    return Slice(**io(layer), axis=axis, sizes=sizes)


@converts("Flatten")
def flatten(layer: CaffeLayer) -> Flatten:
    p = layer.param.flatten_param
    rank = len(layer.bottom_shapes[0])
    return Flatten(**io(layer), axis=canonical_axis(layer, p.axis, rank),
                   end_axis=canonical_axis(layer, p.end_axis, rank))


@converts("Permute")
def permute(layer: CaffeLayer) -> Transpose:
    return Transpose(**io(layer), perm=tuple(full_order(layer, len(layer.bottom_shapes[0]))))


@converts("Reshape")
def reshape(layer: CaffeLayer) -> Reshape:
    return Reshape(**io(layer), shape=_batch_free_target(layer.bottom_shapes[0], layer.top_shapes[0]))


def _batch_free_target(bottom: Shape, top: Shape) -> tuple[int, ...]:
    """The Reshape target that follows the batch size: Caffe records the top at one batch size, but
    the converted model takes any (see the IR's Reshape)."""
    if bottom and top:
        if top[0] == bottom[0]:
            return (0, *top[1:])
        if top[0] % bottom[0] == 0 and math.prod(bottom[1:]) % math.prod(top[1:]) == 0:
            return (-1, *top[1:])
    return tuple(top)


@converts("Crop")
def crop(layer: CaffeLayer) -> Crop:
    axis, offsets, sizes = crop_window(layer, layer.bottom_shapes)
    # The second bottom gives only its (static) shape: the node reads the cropped blob alone.
    return Crop(name=layer.name, inputs=layer.bottoms[:1], outputs=list(layer.tops), axis=axis, offsets=offsets,
                sizes=sizes)


@converts("ShuffleChannel")
def shuffle_channel(layer: CaffeLayer) -> ShuffleChannel:
    return ShuffleChannel(**io(layer), group=group_of(layer, layer.bottom_shapes[0]))
