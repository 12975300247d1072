"""Caffe ReLU -> Relu (leaky when negative_slope is set); the forks' ReLU6 -> Clip to [0, 6]."""

from converter.caffe.net import CaffeLayer
from converter.ir import Clip, Relu
from converter.lift.registry import converts, io


@converts("ReLU")
def relu(layer: CaffeLayer) -> Relu:
    return Relu(**io(layer), negative_slope=layer.param.relu_param.negative_slope)


@converts("ReLU6")
def relu6(layer: CaffeLayer) -> Clip:
    return Clip(**io(layer), low=0.0, high=6.0)
