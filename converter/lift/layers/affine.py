"""Caffe Scale and Bias: a learned (or second-bottom) factor/addend broadcast from `axis`."""

from converter.caffe.net import CaffeLayer
from converter.ir import Bias, Scale
from converter.lift.registry import converts, io


def _axis(layer: CaffeLayer, axis: int) -> int:
    return axis % len(layer.bottom_shapes[0])


@converts("Scale")
def scale(layer: CaffeLayer) -> Scale:
    p = layer.param.scale_param
    blobs = list(layer.blobs)
    gamma = blobs.pop(0) if len(layer.bottoms) == 1 else None
    beta = blobs.pop(0) if p.bias_term else None
    return Scale(**io(layer), gamma=gamma, beta=beta, axis=_axis(layer, p.axis))


@converts("Bias")
def bias(layer: CaffeLayer) -> Bias:
    beta = layer.blobs[0] if len(layer.bottoms) == 1 else None
    return Bias(**io(layer), beta=beta, axis=_axis(layer, layer.param.bias_param.axis))
