"""ReLU: y = x where x > 0, else negative_slope * x (negative_slope defaults to 0)."""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import same_shape
from converter.caffe.net import CaffeLayer


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    x = np.asarray(x, dtype=np.float32)
    slope = np.float32(layer.param.relu_param.negative_slope)
    if slope == 0:
        return [np.maximum(x, np.float32(0))]
    return [np.where(x > 0, x, x * slope).astype(np.float32, copy=False)]


register("ReLU", output_shapes=same_shape, forward=forward, in_place=True)
