"""ConvolutionDepthwise (ShuffleNet v2 / MobileNet ports, conv_dw_layer.cpp): one 2-D filter per
input channel, each channel convolved with its own filter only.

The fork reads `convolution_param` for the kernel, stride, pad and dilation (as Convolution
does) and `bias_term`, but ignores `num_output` and `group`: the top has as many channels as the
bottom, the weights are (channels, 1, kh, kw) and the bias (channels,). Output size and the taps
past the input are Convolution's (C++ integer division; taps outside the input read zero). So the
layer is a Convolution with group = num_output = channels.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import expect_count, fail
from converter.caffe.layers.convolution import ConvGeometry, conv2d
from converter.caffe.layers.convolution import geometry as convolution_geometry
from converter.caffe.net import CaffeLayer, Shape


def geometry(layer: CaffeLayer, bottoms: list[Shape]) -> ConvGeometry:
    """Convolution's geometry with one group per bottom channel, whatever num_output/group say."""
    expect_count(layer, bottoms)
    if len(bottoms[0]) != 4:
        raise fail(layer, f"bottom must be 4-D (N, C, H, W), got {list(bottoms[0])}")
    depthwise = type(layer.param)()
    depthwise.CopyFrom(layer.param)
    channels = bottoms[0][1]
    depthwise.convolution_param.num_output = channels
    depthwise.convolution_param.group = channels
    return convolution_geometry(dataclasses.replace(layer, param=depthwise), bottoms)


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    g = geometry(layer, bottoms)
    n, c, h, w = bottoms[0]
    out = (g.output_size(h, 0), g.output_size(w, 1))
    if min(out) <= 0:
        raise fail(layer, f"kernel extent {g.extent(0)}x{g.extent(1)} leaves no output on a padded "
                          f"{h + 2 * g.pad[0]}x{w + 2 * g.pad[1]} input")
    return [(n, c, *out)]


def blob_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    g = geometry(layer, bottoms)
    weight = (g.channels, 1, *g.kernel)
    return [weight, (g.channels,)] if g.bias else [weight]


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    g = geometry(layer, [tuple(x.shape)])
    bias = layer.blobs[1] if g.bias else None
    return [conv2d(np.asarray(x, dtype=np.float32), layer.blobs[0], bias, g)]


register("ConvolutionDepthwise", output_shapes=output_shapes, forward=forward, blob_shapes=blob_shapes)
