"""Caffe ArgMax -> ArgMax (indices or values of the top_k largest, along an axis or per sample)."""

from converter.caffe.layers.argmax import settings
from converter.caffe.net import CaffeLayer
from converter.ir import ArgMax
from converter.lift.registry import converts, io


@converts("ArgMax")
def argmax(layer: CaffeLayer) -> ArgMax:
    axis, top_k, out_max_val = settings(layer, layer.bottom_shapes[0])
    return ArgMax(**io(layer), axis=axis, top_k=top_k, out_max_val=out_max_val)
