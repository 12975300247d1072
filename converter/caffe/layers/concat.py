"""Concat: join the bottoms along `axis` (default 1; negative counts from the end).

The legacy `concat_dim` names the same axis; giving both is an error. Every bottom must have the
same number of axes and agree on every dimension except the concatenation axis.
"""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import canonical_axis, expect_count, fail
from converter.caffe.net import CaffeLayer, Shape


def concat_axis(layer: CaffeLayer, ndim: int) -> int:
    p = layer.param.concat_param
    if p.HasField("concat_dim"):
        if p.HasField("axis"):
            raise fail(layer, "either axis or concat_dim should be specified; not both")
        return canonical_axis(layer, int(p.concat_dim), ndim)
    return canonical_axis(layer, int(p.axis), ndim)


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    expect_count(layer, bottoms, bottoms_n=(1, 1 << 30))
    first = bottoms[0]
    axis = concat_axis(layer, len(first))
    for shape in bottoms[1:]:
        if len(shape) != len(first):
            raise fail(layer, f"all bottoms must have the same number of axes: {[list(s) for s in bottoms]}")
        if shape[:axis] != first[:axis] or shape[axis + 1 :] != first[axis + 1 :]:
            raise fail(layer, f"bottoms must match on every axis but {axis}: {[list(s) for s in bottoms]}")
    return [(*first[:axis], sum(s[axis] for s in bottoms), *first[axis + 1 :])]


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    axis = concat_axis(layer, inputs[0].ndim)
    return [np.concatenate(inputs, axis=axis).astype(np.float32, copy=False)]


register("Concat", output_shapes=output_shapes, forward=forward)
