"""ShuffleChannel (ShuffleNet, shuffle_channel_layer.cpp): interleave the channels of `group` groups.

`shuffle_channel_param.group` (default 1) must divide the channels C; with k = C / group, top
channel j * group + i is bottom channel i * k + j (the channel axis viewed as (group, k) and
transposed). Every other axis is kept; the top has the bottom's shape.
"""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import expect_count, fail, no_in_place
from converter.caffe.net import CaffeLayer, Shape


def group_of(layer: CaffeLayer, bottom: Shape) -> int:
    group = int(layer.param.shuffle_channel_param.group)
    if group < 1:
        raise fail(layer, f"group must be greater than 0, got {group}")
    if len(bottom) < 2 or bottom[1] % group:
        raise fail(layer, f"group {group} does not divide the channels of {list(bottom)}")
    return group


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    expect_count(layer, bottoms)
    no_in_place(layer)
    group_of(layer, bottoms[0])
    return [bottoms[0]]


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    x = np.asarray(x, dtype=np.float32)
    group = group_of(layer, tuple(x.shape))
    n, c = x.shape[:2]
    grouped = x.reshape(n, group, c // group, -1)
    return [np.ascontiguousarray(grouped.transpose(0, 2, 1, 3)).reshape(x.shape)]


register("ShuffleChannel", output_shapes=output_shapes, forward=forward)
