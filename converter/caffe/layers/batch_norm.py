"""BatchNorm: y = (x - mean) / sqrt(var + eps) per channel (axis 1); no affine part (a Scale follows).

Blobs: mean (C,), variance (C,) and a one-element scale factor; the statistics used are the stored
ones times 1 / factor (times 0 when the factor is 0). `eps` defaults to 1e-5. `use_global_stats`
defaults to true in the TEST phase (the net's, unless the layer sets its own `phase`); false,
Caffe normalises with the batch's own mean and biased variance over (N, spatial) even at test time,
and the stored blobs are not read (Caffe folds the batch's statistics into them as a moving average
on every forward pass, which changes nothing the net outputs).
"""

from __future__ import annotations

import numpy as np

from converter.caffe import caffe_pb2
from converter.caffe.layers import register
from converter.caffe.layers.common import fail, same_shape
from converter.caffe.net import CaffeLayer, Shape


def _channels(shape: Shape) -> int:
    return 1 if len(shape) == 1 else shape[1]


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    # Caffe does not check, but sqrt(var + eps) with eps < 0 is NaN wherever var < -eps.
    if layer.param.batch_norm_param.eps < 0:
        raise fail(layer, f"eps must be non-negative, got {layer.param.batch_norm_param.eps:g}")
    return same_shape(layer, bottoms)


def blob_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    output_shapes(layer, bottoms)
    c = _channels(bottoms[0])
    return [(c,), (c,), (1,)]


def uses_global_stats(layer: CaffeLayer) -> bool:
    """Caffe's choice between the stored statistics and the batch's own: `use_global_stats` when
    given, else whether the layer runs in the TEST phase. A layer's phase is the net's (TEST here)
    unless the layer sets its own `phase` (then TRAIN gives batch statistics)."""
    p = layer.param.batch_norm_param
    if p.HasField("use_global_stats"):
        return bool(p.use_global_stats)
    return not layer.param.HasField("phase") or layer.param.phase == caffe_pb2.TEST


def stored_statistics(layer: CaffeLayer) -> tuple[np.ndarray, np.ndarray]:
    """The mean and variance Caffe normalises with when it uses the stored statistics: blobs 0 and 1
    times 1 / blob 2 (times 0 when blob 2 is 0), in float32 as batch_norm_layer.cpp computes them
    (the factor is Dtype(1) / stored, then caffe_cpu_scale)."""
    stored = np.float32(np.asarray(layer.blobs[2]).reshape(-1)[0])
    factor = np.float32(0) if stored == 0 else np.float32(1) / stored
    mean = np.asarray(layer.blobs[0], np.float32) * factor
    var = np.asarray(layer.blobs[1], np.float32) * factor
    return mean, var


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    x = np.asarray(x, dtype=np.float32)
    n, c = x.shape[0], _channels(x.shape)
    flat = x.reshape(n, c, -1)
    eps = np.float32(layer.param.batch_norm_param.eps)
    if uses_global_stats(layer):
        mean, var = (stat.reshape(-1) for stat in stored_statistics(layer))
    else:
        mean = flat.mean(axis=(0, 2), dtype=np.float32)
        var = np.square(flat - mean[None, :, None]).mean(axis=(0, 2), dtype=np.float32)
    std = np.sqrt(var + eps)
    y = (flat - mean[None, :, None]) / std[None, :, None]
    return [y.reshape(x.shape).astype(np.float32, copy=False)]


register("BatchNorm", output_shapes=output_shapes, forward=forward, blob_shapes=blob_shapes, in_place=True)
