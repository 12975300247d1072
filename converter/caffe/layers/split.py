"""Split: copies its one bottom to every top (Caffe inserts these itself where a blob has several readers)."""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import expect_count, fail
from converter.caffe.net import CaffeLayer, Shape


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    expect_count(layer, bottoms, tops_n=None)
    if not layer.tops:
        raise fail(layer, "Split needs at least one top")
    if layer.bottoms and layer.bottoms[0] in layer.tops:
        raise fail(layer, "Split does not allow in-place computation (a top equals the bottom)")
    return [bottoms[0] for _ in layer.tops]


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    return [np.array(x, dtype=np.float32) for _ in layer.tops]


register("Split", output_shapes=output_shapes, forward=forward)
