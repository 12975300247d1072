"""ReLU6 (MobileNet v2 / chuanqi305's SSD fork, relu6_layer.cpp): y = min(max(x, 0), 6)."""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import same_shape
from converter.caffe.net import CaffeLayer


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    return [np.minimum(np.maximum(np.asarray(x, dtype=np.float32), np.float32(0)), np.float32(6))]


register("ReLU6", output_shapes=same_shape, forward=forward, in_place=True)
