"""ArgMax (BVLC argmax_layer.cpp): the indices (or values) of the `top_k` largest entries.

With `axis` set: along that axis, the top has the bottom's shape with `top_k` there, holding the
indices (as floats) of the top_k largest values in descending order, or with `out_max_val` those
values instead. Without `axis`: over each sample's values flattened (dims 1..), the top is
(N, 1, top_k) padded with 1s to the bottom's rank (at least 3), holding the indices; with
`out_max_val` it is (N, 2, top_k, ...): the indices in channel 0 and their values in channel 1.
Caffe sorts (value, index) pairs with std::greater, so of equal values the higher index comes first.
`top_k` (default 1) must not exceed the number of candidates.
"""

from __future__ import annotations

import math

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import canonical_axis, expect_count, fail, no_in_place
from converter.caffe.net import CaffeLayer, Shape


def settings(layer: CaffeLayer, bottom: Shape) -> tuple[int | None, int, bool]:
    """(axis or None for the flattened sample, top_k, out_max_val), checked as Caffe checks them."""
    p = layer.param.argmax_param
    top_k = int(p.top_k)
    if top_k < 1:
        raise fail(layer, f"top_k must be at least 1, got {top_k}")
    if p.HasField("axis"):
        axis = canonical_axis(layer, int(p.axis), len(bottom))
        if top_k > bottom[axis]:
            raise fail(layer, f"top_k {top_k} exceeds the size {bottom[axis]} of axis {axis}")
        return axis, top_k, bool(p.out_max_val)
    if len(bottom) < 1 or top_k > math.prod(bottom[1:]):
        raise fail(layer, f"top_k {top_k} exceeds the {math.prod(bottom[1:])} values of a sample of {list(bottom)}")
    return None, top_k, bool(p.out_max_val)


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    expect_count(layer, bottoms)
    no_in_place(layer)
    bottom = bottoms[0]
    axis, top_k, out_max_val = settings(layer, bottom)
    if axis is not None:
        return [(*bottom[:axis], top_k, *bottom[axis + 1 :])]
    shape = [1] * max(len(bottom), 3)
    shape[0], shape[1], shape[2] = bottom[0], 2 if out_max_val else 1, top_k
    return [tuple(shape)]


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    x = np.asarray(x, dtype=np.float32)
    axis, top_k, out_max_val = settings(layer, tuple(x.shape))
    (shape,) = output_shapes(layer, [tuple(x.shape)])
    values = x if axis is not None else x.reshape(x.shape[0], -1)
    along = axis if axis is not None else 1
    # Descending by (value, index): flip the axis so that a stable descending sort puts the higher
    # index of equal values first, then map positions back.
    flipped = np.flip(values, axis=along)
    order = np.argsort(-flipped, axis=along, kind="stable")
    order = np.take(order, np.arange(top_k), axis=along)
    indices = values.shape[along] - 1 - order
    best = np.take_along_axis(values, indices, axis=along)
    if axis is not None:
        return [(best if out_max_val else indices).astype(np.float32)]
    parts = [indices, best] if out_max_val else [indices]
    return [np.stack(parts, axis=1).astype(np.float32).reshape(shape)]


register("ArgMax", output_shapes=output_shapes, forward=forward)
