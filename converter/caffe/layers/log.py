"""Log: y = log_base(shift + scale * x); base -1 (the default) means e. Scale 1, shift 0 by default.

A base other than -1 must be positive and not 1. Non-positive arguments give -inf or NaN, as in Caffe.
"""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import fail, same_shape
from converter.caffe.net import CaffeLayer, Shape


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    base = layer.param.log_param.base
    if base != -1 and not base > 0:
        raise fail(layer, f"base must be strictly positive (or -1 for e), got {base}")
    if base == 1:
        raise fail(layer, "base 1 has no logarithm (1 / log(1) is infinite)")
    return same_shape(layer, bottoms)


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    p = layer.param.log_param
    y = np.asarray(x, dtype=np.float32)
    if p.scale != 1:
        y = y * np.float32(p.scale)
    if p.shift != 0:
        y = y + np.float32(p.shift)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.log(y)
    factor = base_factor(p.base)
    if factor != 1:
        y = y * factor
    return [y.astype(np.float32, copy=False)]


def base_factor(base: float) -> np.float32:
    """1 / ln(base) as log_layer.cpp computes it, in float32 (base_scale_ = Dtype(1) / log(base));
    1 for base -1, the natural logarithm."""
    if base == -1:
        return np.float32(1)
    with np.errstate(all="ignore"):
        return np.float32(np.float32(1) / np.log(np.float32(base)))


register("Log", output_shapes=output_shapes, forward=forward, in_place=True)
