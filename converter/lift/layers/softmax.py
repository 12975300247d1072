"""Caffe Softmax -> Softmax over one axis."""

from converter.caffe.net import CaffeLayer
from converter.ir import Softmax
from converter.lift.registry import converts, io


@converts("Softmax")
def softmax(layer: CaffeLayer) -> Softmax:
    return Softmax(**io(layer), axis=layer.param.softmax_param.axis % len(layer.bottom_shapes[0]))
