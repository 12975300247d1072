"""Axpy (SENet ports, axpy_layer.cpp): top = a * x + y, with a one factor per (sample, channel).

Bottoms are (a, x, y): x and y have the same shape (N, C, ...), a has x's first two dims and, when
4-D, 1x1 spatial dims (SENet's excitation, (N, C, 1, 1)). The top has y's shape; each channel
plane of x is scaled by its factor and added to y's (BLAS axpy).
"""

from __future__ import annotations

import math

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import expect_count, fail
from converter.caffe.net import CaffeLayer, Shape


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    expect_count(layer, bottoms, bottoms_n=3)
    a, x, y = bottoms
    if len(a) < 2 or len(x) < 2 or a[:2] != x[:2]:
        raise fail(layer, f"the factor {list(a)} must have the first two dims (N, C) of x {list(x)}")
    if math.prod(a[2:]) != 1:
        raise fail(layer, f"the factor {list(a)} must hold one value per (N, C): its other dims must be 1")
    if x != y:
        raise fail(layer, f"x {list(x)} and y {list(y)} must have the same shape")
    return [y]


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    a, x, y = (np.asarray(v, dtype=np.float32) for v in inputs)
    factor = a.reshape(a.shape[:2] + (1,) * (x.ndim - 2))
    return [(factor * x + y).astype(np.float32, copy=False)]


register("Axpy", output_shapes=output_shapes, forward=forward)
