"""ELU: y = x where x > 0, else alpha * (exp(x) - 1); alpha defaults to 1."""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import same_shape
from converter.caffe.net import CaffeLayer


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    x = np.asarray(x, dtype=np.float32)
    alpha = np.float32(layer.param.elu_param.alpha)
    negative = alpha * (np.exp(np.minimum(x, np.float32(0))) - np.float32(1))
    return [(np.maximum(x, np.float32(0)) + negative).astype(np.float32, copy=False)]


register("ELU", output_shapes=same_shape, forward=forward, in_place=True)
