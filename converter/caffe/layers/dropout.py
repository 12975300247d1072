"""Dropout: the identity at test time (Caffe scales by 1 / (1 - dropout_ratio) while training instead)."""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import same_shape
from converter.caffe.net import CaffeLayer


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    return [np.array(x, dtype=np.float32)]


register("Dropout", output_shapes=same_shape, forward=forward, in_place=True)
