"""Sigmoid: y = 1 / (1 + exp(-x)), computed as Caffe does: 0.5 * tanh(0.5 * x) + 0.5."""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import same_shape
from converter.caffe.net import CaffeLayer


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    half = np.float32(0.5)
    return [(half * np.tanh(half * np.asarray(x, dtype=np.float32)) + half).astype(np.float32, copy=False)]


register("Sigmoid", output_shapes=same_shape, forward=forward, in_place=True)
