"""Flatten: merge axes [axis, end_axis] (defaults 1 and -1) into one; not in place.

Negative axes count from the end. If end_axis is the axis just before `axis`, Caffe inserts a new
axis of size 1 there; an end_axis further back is an error.
"""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import canonical_axis, count, expect_count, fail, no_in_place
from converter.caffe.net import CaffeLayer, Shape


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    expect_count(layer, bottoms)
    no_in_place(layer)
    shape = bottoms[0]
    p = layer.param.flatten_param
    start = canonical_axis(layer, int(p.axis), len(shape))
    end = canonical_axis(layer, int(p.end_axis), len(shape))
    if end + 1 < start:
        raise fail(layer, f"end_axis {p.end_axis} lies before axis {p.axis}")
    return [(*shape[:start], count(shape, start, end + 1), *shape[end + 1 :])]


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    (shape,) = output_shapes(layer, [tuple(x.shape)])
    return [np.array(x, dtype=np.float32).reshape(shape)]


register("Flatten", output_shapes=output_shapes, forward=forward)
