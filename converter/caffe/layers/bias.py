"""Bias: y = x + bias, the bias broadcast over bottom[0]'s axes [axis, axis + num_axes).

With one bottom the bias is the layer's only blob (shape bottom[0].shape[axis : axis + num_axes];
axis default 1, num_axes default 1, -1 to the end); with two bottoms bottom[1] is the bias and the
layer has no blobs.
"""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import as_broadcast, broadcast_operand
from converter.caffe.net import CaffeLayer, Shape


def _operand(layer: CaffeLayer, bottoms: list[Shape]) -> tuple[int, Shape]:
    p = layer.param.bias_param
    return broadcast_operand(layer, bottoms, int(p.axis), int(p.num_axes))


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    _operand(layer, bottoms)
    return [bottoms[0]]


def blob_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    _, operand = _operand(layer, bottoms)
    return [operand] if len(bottoms) == 1 else []


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    x = np.asarray(inputs[0], dtype=np.float32)
    start, _ = _operand(layer, [tuple(v.shape) for v in inputs])
    bias = inputs[1] if len(inputs) == 2 else layer.blobs[0]
    return [(x + as_broadcast(np.asarray(bias, np.float32), start, x.ndim)).astype(np.float32, copy=False)]


register("Bias", output_shapes=output_shapes, forward=forward, blob_shapes=blob_shapes, in_place=True)
