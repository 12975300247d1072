"""Caffe's element-wise activations: PReLU, ELU, Sigmoid, TanH, AbsVal, Power, Exp, Log."""

from converter.caffe.layers.exp import scale_and_factor
from converter.caffe.layers.log import base_factor
from converter.caffe.net import CaffeLayer
from converter.ir import Abs, Elu, Exp, Log, Power, PRelu, Sigmoid, Tanh
from converter.lift.registry import converts, io


@converts("PReLU")
def prelu(layer: CaffeLayer) -> PRelu:
    return PRelu(**io(layer), slope=layer.blobs[0])


@converts("ELU")
def elu(layer: CaffeLayer) -> Elu:
    return Elu(**io(layer), alpha=layer.param.elu_param.alpha)


@converts("Sigmoid")
def sigmoid(layer: CaffeLayer) -> Sigmoid:
    return Sigmoid(**io(layer))


@converts("TanH")
def tanh(layer: CaffeLayer) -> Tanh:
    return Tanh(**io(layer))


@converts("AbsVal")
def absval(layer: CaffeLayer) -> Abs:
    return Abs(**io(layer))


@converts("Power")
def power(layer: CaffeLayer) -> Power:
    p = layer.param.power_param
    return Power(**io(layer), power=p.power, scale=p.scale, shift=p.shift)


@converts("Exp")
def exp(layer: CaffeLayer) -> Exp:
    scale, factor = scale_and_factor(layer.param.exp_param)
    return Exp(**io(layer), scale=float(scale), factor=float(factor))


@converts("Log")
def log(layer: CaffeLayer) -> Log:
    p = layer.param.log_param
    return Log(**io(layer), scale=p.scale, shift=p.shift, factor=float(base_factor(p.base)))
