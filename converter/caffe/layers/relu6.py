"""ReLU6 (MobileNet v2 / chuanqi305's SSD fork, relu6_layer.cpp): y = min(max(x, 0), 6).

`relu6_param` carries a `negative_slope` in some forks' schemas; the layer converted here has none,
so a nonzero one is refused rather than ignored.
"""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import fail, same_shape
from converter.caffe.net import CaffeLayer, Shape


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    slope = layer.param.relu6_param.negative_slope
    if slope:
        raise fail(layer, f"ReLU6 with relu6_param negative_slope {slope} is not converted (only min(max(x, 0), 6))")
    return same_shape(layer, bottoms)


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    return [np.minimum(np.maximum(np.asarray(x, dtype=np.float32), np.float32(0)), np.float32(6))]


register("ReLU6", output_shapes=output_shapes, forward=forward, in_place=True)
