"""Scale: y = x * scale (+ bias), the operand broadcast over bottom[0]'s axes [axis, axis + num_axes).

With one bottom the scale is the layer's first blob (shape bottom[0].shape[axis : axis + num_axes];
axis default 1, num_axes default 1, -1 to the end). With two bottoms, bottom[1] is the scale and
only the bias (when `bias_term`, default false) is a blob; Caffe's inner Bias layer then covers as
many axes as bottom[1] has.
"""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import as_broadcast, broadcast_operand
from converter.caffe.net import CaffeLayer, Shape


def _operand(layer: CaffeLayer, bottoms: list[Shape]) -> tuple[int, Shape]:
    p = layer.param.scale_param
    return broadcast_operand(layer, bottoms, int(p.axis), int(p.num_axes))


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    _operand(layer, bottoms)
    return [bottoms[0]]


def blob_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    _, operand = _operand(layer, bottoms)
    shapes = [operand] if len(bottoms) == 1 else []
    return [*shapes, operand] if layer.param.scale_param.bias_term else shapes


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    x = np.asarray(inputs[0], dtype=np.float32)
    start, _ = _operand(layer, [tuple(v.shape) for v in inputs])
    scale = inputs[1] if len(inputs) == 2 else layer.blobs[0]
    y = x * as_broadcast(np.asarray(scale, np.float32), start, x.ndim)
    if layer.param.scale_param.bias_term:
        y += as_broadcast(np.asarray(layer.blobs[-1], np.float32), start, x.ndim)
    return [y.astype(np.float32, copy=False)]


register("Scale", output_shapes=output_shapes, forward=forward, blob_shapes=blob_shapes, in_place=True)
