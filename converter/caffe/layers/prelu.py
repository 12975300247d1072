"""PReLU: y = max(x, 0) + slope * min(x, 0), one learned slope per channel (axis 1) or one shared.

The bottom needs at least 2 axes. The blob is (C,), or a scalar (shape ()) with `channel_shared`.
"""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import fail, same_shape
from converter.caffe.net import CaffeLayer, Shape


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    shapes = same_shape(layer, bottoms)
    if len(bottoms[0]) < 2:
        raise fail(layer, f"the bottom of PReLU must have at least 2 axes, got {list(bottoms[0])}")
    return shapes


def blob_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    output_shapes(layer, bottoms)
    return [()] if layer.param.prelu_param.channel_shared else [(bottoms[0][1],)]


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    x = np.asarray(x, dtype=np.float32)
    slope = np.asarray(layer.blobs[0], np.float32)
    if layer.param.prelu_param.channel_shared:
        slope = slope.reshape(())
    else:
        slope = slope.reshape((1, -1) + (1,) * (x.ndim - 2))
    y = np.maximum(x, np.float32(0)) + slope * np.minimum(x, np.float32(0))
    return [y.astype(np.float32, copy=False)]


register("PReLU", output_shapes=output_shapes, forward=forward, blob_shapes=blob_shapes, in_place=True)
