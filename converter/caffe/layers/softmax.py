"""Softmax over `axis` (default 1): exp(x - max) / sum(exp(x - max)), independently for every other index."""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import canonical_axis, same_shape
from converter.caffe.net import CaffeLayer, Shape


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    shapes = same_shape(layer, bottoms)
    canonical_axis(layer, int(layer.param.softmax_param.axis), len(bottoms[0]))
    return shapes


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    x = np.asarray(x, dtype=np.float32)
    axis = canonical_axis(layer, int(layer.param.softmax_param.axis), x.ndim)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return [e]


register("Softmax", output_shapes=output_shapes, forward=forward, in_place=True)
