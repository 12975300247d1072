"""Slice: cut the bottom along `axis` (default 1; legacy `slice_dim`) into one piece per top.

With `slice_point`s (one fewer than the tops, strictly increasing, positive) the pieces run between
them; without, the axis is split into equal parts and must divide evenly. Every piece is non-empty.
"""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import canonical_axis, expect_count, fail
from converter.caffe.net import CaffeLayer, Shape


def axis_and_sizes(layer: CaffeLayer, shape: Shape) -> tuple[int, list[int]]:
    """The slice axis (canonical) and the size of each top along it, for a bottom of `shape`."""
    p = layer.param.slice_param
    if p.HasField("slice_dim"):
        if p.HasField("axis"):
            raise fail(layer, "either axis or slice_dim should be specified; not both")
        if p.slice_dim >= len(shape):
            raise fail(layer, f"slice_dim {p.slice_dim} out of range for a {len(shape)}-D bottom")
        axis = int(p.slice_dim)
    else:
        axis = canonical_axis(layer, int(p.axis), len(shape))
    tops, dim = len(layer.tops), shape[axis]
    if tops == 1:
        return axis, [dim]
    if p.slice_point:
        points = [int(v) for v in p.slice_point]
        if len(points) != tops - 1:
            raise fail(layer, f"{len(points)} slice_point(s) for {tops} tops; need {tops - 1}")
        if tops > dim:
            raise fail(layer, f"{tops} tops cannot slice an axis of size {dim}")
        bounds = [0, *points, dim]
        sizes = [b - a for a, b in zip(bounds, bounds[1:], strict=False)]
        if min(sizes) <= 0:
            raise fail(layer, f"slice points {points} must increase strictly within (0, {dim})")
        return axis, sizes
    if dim % tops:
        raise fail(layer, f"number of tops ({tops}) should evenly divide the slice axis ({dim})")
    return axis, [dim // tops] * tops


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    expect_count(layer, bottoms, tops_n=None)
    if not layer.tops:
        raise fail(layer, "Slice needs at least one top")
    shape = bottoms[0]
    axis, sizes = axis_and_sizes(layer, shape)
    return [(*shape[:axis], size, *shape[axis + 1 :]) for size in sizes]


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    x = np.asarray(x, dtype=np.float32)
    axis, sizes = axis_and_sizes(layer, tuple(x.shape))
    pieces = np.split(x, np.cumsum(sizes)[:-1], axis=axis)
    return [np.ascontiguousarray(piece) for piece in pieces]


register("Slice", output_shapes=output_shapes, forward=forward)
