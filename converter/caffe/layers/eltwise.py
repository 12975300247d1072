"""Eltwise: combine two or more same-shaped bottoms element by element.

SUM (default): sum of coeff_i * x_i, one `coeff` per bottom or none (all 1). PROD: the product;
coefficients are not allowed. MAX: the element-wise maximum (coefficients allowed and ignored).
Only PROD may run in place: SUM and MAX fill the top before reading bottom[0].
"""

from __future__ import annotations

import numpy as np

from converter.caffe import caffe_pb2
from converter.caffe.layers import register
from converter.caffe.layers.common import expect_count, fail
from converter.caffe.net import CaffeLayer, Shape

Op = caffe_pb2.EltwiseParameter


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    expect_count(layer, bottoms, bottoms_n=(2, 1 << 30))
    p = layer.param.eltwise_param
    if p.coeff and len(p.coeff) != len(bottoms):
        raise fail(layer, f"Eltwise takes one coefficient per bottom: {len(p.coeff)} for {len(bottoms)} bottoms")
    # Caffe refuses coefficients only for PROD; MAX accepts and ignores them.
    if p.coeff and p.operation == Op.PROD:
        raise fail(layer, "Eltwise only takes coefficients for summation")
    if any(shape != bottoms[0] for shape in bottoms):
        raise fail(layer, f"all bottoms must have the same shape, got {[list(s) for s in bottoms]}")
    if layer.tops and layer.bottoms and layer.tops[0] == layer.bottoms[0] and p.operation != Op.PROD:
        # eltwise_layer.cpp fills the top (0 for SUM, -FLT_MAX for MAX) before reading bottom[0].
        raise fail(layer, f"Eltwise {Op.EltwiseOp.Name(p.operation)} in place (top '{layer.tops[0]}' is bottom[0]): "
                          "BVLC Caffe overwrites that bottom before reading it, so it never takes part (forks "
                          "differ); give the top its own name")
    return [bottoms[0]]


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = layer.param.eltwise_param
    xs = [np.asarray(x, dtype=np.float32) for x in inputs]
    if p.operation == Op.PROD:
        y = xs[0] * xs[1]
        for x in xs[2:]:
            y *= x
    elif p.operation == Op.MAX:
        y = np.maximum(xs[0], xs[1])
        for x in xs[2:]:
            np.maximum(y, x, out=y)
    else:
        coeff = [np.float32(c) for c in p.coeff] or [np.float32(1)] * len(xs)
        y = xs[0] * coeff[0]
        for x, c in zip(xs[1:], coeff[1:], strict=True):
            y += x if c == 1 else x * c
    return [y.astype(np.float32, copy=False)]


register("Eltwise", output_shapes=output_shapes, forward=forward, in_place=True)
