"""Normalize (SSD fork): L2 normalisation with a learned scale.

For each image n: across_spatial (default): y = x * (1 / sqrt(sum of x^2 over C, H, W + eps));
otherwise per spatial position: y = x / sqrt(sum over C of x^2 + eps). Then y is multiplied by the
scale blob: one value (`channel_shared`, default; a 0-axis blob) or one per channel (shape (C,)).
eps defaults to 1e-10. The bottom has 2 to 4 axes (N, C, then H and W when present).
"""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import expect_count, fail
from converter.caffe.net import CaffeLayer, Shape


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    expect_count(layer, bottoms)
    if not 2 <= len(bottoms[0]) <= 4:
        raise fail(layer, f"Normalize takes a bottom of 2 to 4 axes, got {list(bottoms[0])}")
    return [bottoms[0]]


def blob_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    return [()] if layer.param.norm_param.channel_shared else [(bottoms[0][1],)]


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    p = layer.param.norm_param
    x = np.asarray(inputs[0], np.float32)
    n, c = x.shape[:2]
    planes = x.reshape(n, c, -1)
    eps = np.float32(p.eps)
    if p.across_spatial:
        norm = np.sqrt((planes.astype(np.float64) ** 2).sum(axis=(1, 2)) + eps).astype(np.float32)
        y = planes * (1.0 / norm.astype(np.float64)).astype(np.float32)[:, None, None]
    else:
        norm = np.sqrt((planes.astype(np.float64) ** 2).sum(axis=1) + eps).astype(np.float32)
        y = planes / norm[:, None, :]
    scale = np.asarray(layer.blobs[0], np.float32).reshape(-1)
    y = y * (scale[0] if p.channel_shared else scale[None, :, None])
    return [y.reshape(x.shape).astype(np.float32)]


register("Normalize", output_shapes=output_shapes, forward=forward, blob_shapes=blob_shapes, in_place=True)
