"""TanH: y = tanh(x)."""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import same_shape
from converter.caffe.net import CaffeLayer


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    return [np.tanh(np.asarray(x, dtype=np.float32))]


register("TanH", output_shapes=same_shape, forward=forward, in_place=True)
