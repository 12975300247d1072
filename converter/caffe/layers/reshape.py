"""Reshape: give the bottom a new shape without moving data; not in place.

`shape` replaces the bottom's axes [axis, axis + num_axes) (defaults 0 and -1: all of them;
a negative axis counts from the end, -1 meaning after the last). In `shape`, 0 copies the bottom's
dimension at the same position and a single -1 is inferred so the element count is unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import expect_count, fail, no_in_place
from converter.caffe.net import CaffeLayer, Shape


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    expect_count(layer, bottoms)
    no_in_place(layer)
    bottom = bottoms[0]
    p = layer.param.reshape_param
    dims = [int(d) for d in p.shape.dim]
    if dims.count(-1) > 1:
        raise fail(layer, "new shape contains multiple -1 dims; at most a single (1) value of -1 may be specified")
    if any(d < -1 for d in dims):
        raise fail(layer, f"new shape {dims} holds a dimension below -1")
    start = p.axis if p.axis >= 0 else len(bottom) + p.axis + 1
    if not 0 <= start <= len(bottom):
        raise fail(layer, f"axis {p.axis} out of range for a {len(bottom)}-D bottom")
    if p.num_axes < -1:
        raise fail(layer, f"num_axes must be >= 0, or -1 for all; got {p.num_axes}")
    end = len(bottom) if p.num_axes == -1 else start + p.num_axes
    if end > len(bottom):
        raise fail(layer, f"axis + num_axes = {end} is out of range for a {len(bottom)}-D bottom")
    new = list(dims)
    for i, d in enumerate(dims):
        if d == 0:
            if start + i >= len(bottom):
                raise fail(layer, "new shape contains a 0, but there was no corresponding bottom axis to copy")
            new[i] = bottom[start + i]
    top = [*bottom[:start], *new, *bottom[end:]]
    if -1 in dims:
        known = math.prod(d for d in top if d != -1)
        total = math.prod(bottom)
        if known == 0 or total % known:
            raise fail(layer, f"cannot infer the -1 in {dims}: {total} elements do not divide by {known}")
        top[start + dims.index(-1)] = total // known
    if math.prod(top) != math.prod(bottom):
        raise fail(layer, f"output count must match input count: {list(bottom)} cannot become {top}")
    return [tuple(top)]


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    (shape,) = output_shapes(layer, [tuple(x.shape)])
    return [np.array(x, dtype=np.float32).reshape(shape)]


register("Reshape", output_shapes=output_shapes, forward=forward)
