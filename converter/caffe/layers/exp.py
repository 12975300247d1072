"""Exp: y = base ^ (shift + scale * x); base -1 (the default) means e. Scale 1, shift 0 by default.

Caffe computes it as base^shift * exp(ln(base) * scale * x); a base other than -1 must be positive.
"""

from __future__ import annotations

import numpy as np

from converter.caffe import caffe_pb2
from converter.caffe.layers import register
from converter.caffe.layers.common import fail, same_shape
from converter.caffe.net import CaffeLayer, Shape


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    base = layer.param.exp_param.base
    if base != -1 and not base > 0:
        raise fail(layer, f"base must be strictly positive (or -1 for e), got {base}")
    return same_shape(layer, bottoms)


def scale_and_factor(param: caffe_pb2.ExpParameter) -> tuple[np.float32, np.float32]:
    """Caffe's inner scale ln(base) * scale and outer factor base ^ shift (e ^ shift for base e),
    in float32 as exp_layer.cpp computes them."""
    base, shift = np.float32(param.base), np.float32(param.shift)
    with np.errstate(all="ignore"):  # an infinite factor is the model's own
        log_base = np.float32(1) if param.base == -1 else np.log(base)
        inner = log_base * np.float32(param.scale)
        outer = np.float32(1) if shift == 0 else np.exp(shift) if param.base == -1 else np.power(base, shift)
    return np.float32(inner), np.float32(outer)


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    inner, outer = scale_and_factor(layer.param.exp_param)
    y = np.exp(np.asarray(x, dtype=np.float32) * inner)
    if outer != 1:
        y *= outer
    return [y.astype(np.float32, copy=False)]


register("Exp", output_shapes=output_shapes, forward=forward, in_place=True)
