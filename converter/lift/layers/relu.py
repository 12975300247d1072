"""Caffe ReLU -> Relu (leaky when negative_slope is set)."""

from converter.caffe.net import CaffeLayer
from converter.ir import Relu
from converter.lift.registry import converts, io


@converts("ReLU")
def relu(layer: CaffeLayer) -> Relu:
    return Relu(**io(layer), negative_slope=layer.param.relu_param.negative_slope)
