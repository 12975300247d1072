"""Dropout: the identity at test time (Caffe scales by 1 / (1 - dropout_ratio) while training instead).

The Fast/Faster R-CNN fork (rbgirshick/caffe-fast-rcnn) adds `scale_train` (default true); false
moves the scaling to test time: y = x * (1 / scale) with scale = 1 / (1 - dropout_ratio), each
quotient computed in double and stored as float32 as dropout_layer.cpp does (its MSRA-trained ZF
net needs this).
"""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import same_shape
from converter.caffe.net import CaffeLayer


def test_time_factor(layer: CaffeLayer) -> float | None:
    """The factor the fork's `scale_train: false` applies at test time; None for the identity."""
    p = layer.param.dropout_param
    if "scale_train" not in p.DESCRIPTOR.fields_by_name or p.scale_train:
        return None
    scale = np.float32(1.0 / (1.0 - float(np.float32(p.dropout_ratio))))
    return float(np.float32(1.0 / float(scale)))


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    factor = test_time_factor(layer)
    if factor is None:
        return [np.array(x, dtype=np.float32)]
    return [(np.asarray(x, np.float32) * np.float32(factor)).astype(np.float32)]


register("Dropout", output_shapes=same_shape, forward=forward, in_place=True)
