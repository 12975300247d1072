"""InnerProduct: a fully connected layer over everything from `axis` (default 1) on.

The bottom is viewed as (M, K) with M = prod(shape[:axis]), K = prod(shape[axis:]); the top is
shape[:axis] + (num_output,). Weights are (num_output, K), or (K, num_output) with `transpose`;
bias (num_output,) when `bias_term` (default true).
"""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import canonical_axis, count, expect_count, fail
from converter.caffe.net import CaffeLayer, Shape


def _axis(layer: CaffeLayer, bottoms: list[Shape]) -> int:
    expect_count(layer, bottoms)
    if layer.param.inner_product_param.num_output <= 0:
        raise fail(layer, "num_output must be positive")
    return canonical_axis(layer, int(layer.param.inner_product_param.axis), len(bottoms[0]))


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    axis = _axis(layer, bottoms)
    return [(*bottoms[0][:axis], int(layer.param.inner_product_param.num_output))]


def blob_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    axis = _axis(layer, bottoms)
    p = layer.param.inner_product_param
    k, n = count(bottoms[0], axis), int(p.num_output)
    weight = (k, n) if p.transpose else (n, k)
    return [weight, (n,)] if p.bias_term else [weight]


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    x = np.asarray(x, dtype=np.float32)
    # The static checks ran on the net's shapes; at run time the bottom may have 0 rows, as Caffe's
    # may (Faster R-CNN's proposals when none survives), so only the axis is taken here.
    axis = canonical_axis(layer, int(layer.param.inner_product_param.axis), x.ndim)
    p = layer.param.inner_product_param
    flat = x.reshape(count(x.shape, 0, axis), count(x.shape, axis))
    weight = np.asarray(layer.blobs[0], np.float32)
    y = flat @ (weight if p.transpose else weight.T)
    if p.bias_term:
        y += np.asarray(layer.blobs[1], np.float32)
    return [y.reshape(*x.shape[:axis], int(p.num_output)).astype(np.float32, copy=False)]


register("InnerProduct", output_shapes=output_shapes, forward=forward, blob_shapes=blob_shapes)
