"""AbsVal: y = |x|. Caffe refuses to run it in place (top == bottom)."""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import no_in_place, same_shape
from converter.caffe.net import CaffeLayer, Shape


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    no_in_place(layer)
    return same_shape(layer, bottoms)


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    return [np.abs(np.asarray(x, dtype=np.float32))]


register("AbsVal", output_shapes=output_shapes, forward=forward)
