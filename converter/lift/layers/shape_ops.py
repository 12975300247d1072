"""Caffe's shape layers: Slice, Flatten, Reshape."""

from converter.caffe.net import CaffeLayer
from converter.ir import Flatten, Reshape, Slice
from converter.lift.registry import converts, io


@converts("Slice")
def slice_(layer: CaffeLayer) -> Slice:
    p = layer.param.slice_param
    axis = p.slice_dim if p.HasField("slice_dim") and not p.HasField("axis") else p.axis
    axis %= len(layer.bottom_shapes[0])
    return Slice(**io(layer), axis=axis, sizes=[shape[axis] for shape in layer.top_shapes])


@converts("Flatten")
def flatten(layer: CaffeLayer) -> Flatten:
    p = layer.param.flatten_param
    rank = len(layer.bottom_shapes[0])
    return Flatten(**io(layer), axis=p.axis % rank, end_axis=p.end_axis % rank)


@converts("Reshape")
def reshape(layer: CaffeLayer) -> Reshape:
    top, bottom = layer.top_shapes[0], layer.bottom_shapes[0]
    # Keep the batch symbolic when the reshape leaves it alone.
    shape = (0, *top[1:]) if top[0] == bottom[0] else tuple(top)
    return Reshape(**io(layer), shape=shape)
