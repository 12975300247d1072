"""LRN: local response normalisation of a 4-D (N, C, H, W) bottom; `local_size` must be odd.

ACROSS_CHANNELS (default): y = x / (k + alpha / n * sum of x^2 over the n channels centred on c,
zero padded)^beta. WITHIN_CHANNEL: Caffe builds it from an AVE pooling of x^2 (n x n window,
pad (n-1)/2, stride 1, so always divided by n*n) and a Power layer with shift 1, so
y = x / (1 + alpha / (n*n) * sum of x^2 over the n x n window)^beta; `k` is ignored there.
Defaults: local_size 5, alpha 1, beta 0.75, k 1.
"""

from __future__ import annotations

import numpy as np

from converter.caffe import caffe_pb2
from converter.caffe.layers import register
from converter.caffe.layers.common import expect_count, fail
from converter.caffe.net import CaffeLayer, Shape

WITHIN_CHANNEL = caffe_pb2.LRNParameter.WITHIN_CHANNEL


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    expect_count(layer, bottoms)
    if len(bottoms[0]) != 4:
        raise fail(layer, f"input must have 4 axes (num, channels, height, width), got {list(bottoms[0])}")
    size = layer.param.lrn_param.local_size
    if size % 2 != 1:
        raise fail(layer, f"LRN only supports odd values for local_size, got {size}")
    return [bottoms[0]]


def _window_sums(values: np.ndarray, axis: int, half: int) -> np.ndarray:
    """Sum over [i - half, i + half] along `axis`, the zero padding outside left out: from running
    sums (in float64), so the cost does not grow with the window, however large `local_size` is."""
    size = values.shape[axis]
    running = np.cumsum(values, axis=axis, dtype=np.float64)
    running = np.concatenate([np.zeros_like(running.take([0], axis=axis)), running], axis=axis)
    index = np.arange(size)
    upper = running.take(np.minimum(index + half + 1, size), axis=axis)
    lower = running.take(np.maximum(index - half, 0), axis=axis)
    return upper - lower


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    x = np.asarray(x, dtype=np.float32)
    p = layer.param.lrn_param
    size, half = int(p.local_size), int(p.local_size) // 2
    alpha, beta = np.float32(p.alpha), np.float32(p.beta)
    square = np.square(x)
    if p.norm_region == WITHIN_CHANNEL:
        total = _window_sums(_window_sums(square, 2, half), 3, half).astype(np.float32)
        scale = np.float32(1) + alpha * (total / np.float32(size * size))
    else:
        total = _window_sums(square, 1, half).astype(np.float32)
        scale = np.float32(p.k) + (alpha / np.float32(size)) * total
    return [(x * np.power(scale, -beta)).astype(np.float32, copy=False)]


register("LRN", output_shapes=output_shapes, forward=forward)
