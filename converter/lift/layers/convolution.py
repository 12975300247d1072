"""Caffe Convolution and the forks' ConvolutionDepthwise and DepthwiseConvolution (Convolution's
geometry under another name) -> Conv; Deconvolution -> ConvTranspose (geometry read as Caffe reads it)."""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import convolution_depthwise
from converter.caffe.layers.convolution import geometry
from converter.caffe.net import CaffeLayer
from converter.ir import Conv, ConvTranspose
from converter.ir.ops import Pair
from converter.lift.registry import NodeIO, converts, io


class _ConvArgs(NodeIO):
    weight: np.ndarray
    bias: np.ndarray | None
    stride: Pair
    pad: Pair
    dilation: Pair
    group: int


def _common(layer: CaffeLayer, depthwise: bool = False) -> _ConvArgs:
    g = (convolution_depthwise.geometry if depthwise else geometry)(layer, layer.bottom_shapes)
    return {**io(layer), "weight": layer.blobs[0], "bias": layer.blobs[1] if g.bias else None,
            "stride": g.stride, "pad": g.pad, "dilation": g.dilation, "group": g.group}


@converts("Convolution", "ConvolutionDepthwise", "DepthwiseConvolution")
def convolution(layer: CaffeLayer) -> Conv:
    depthwise = layer.type == "ConvolutionDepthwise"
    g = (convolution_depthwise.geometry if depthwise else geometry)(layer, layer.bottom_shapes)
    h, w = layer.bottom_shapes[0][2:]
    # The zeros Caffe's im2col reads past the input when the kernel overhangs it (truncated division).
    return Conv(**_common(layer, depthwise), extra_end=(g.end_padding(h, 0), g.end_padding(w, 1)))


@converts("Deconvolution")
def deconvolution(layer: CaffeLayer) -> ConvTranspose:
    return ConvTranspose(**_common(layer))
