"""ROIPooling: the Fast/Faster R-CNN fork layer (rbgirshick/caffe-fast-rcnn roi_pooling_layer.cpp),
`roi_pooling_param` pooled_h, pooled_w (both required, > 0) and spatial_scale (default 1).

Bottoms: features (N, C, H, W) and rois (R, 5, ...) whose rows are [batch index, x1, y1, x2, y2]
in image coordinates; top (R, C, pooled_h, pooled_w). Per roi, in float32 as the C++ computes it:
the batch index is cast to int (must lie in [0, N)); each coordinate times spatial_scale is
rounded half away from zero (C's round) to start_w, start_h, end_w, end_h; the roi is
max(end - start + 1, 1) cells high and wide; bin_size_h = roi_height / pooled_h; bin ph spans rows
floor(ph * bin_size_h) to ceil((ph + 1) * bin_size_h) (end excluded), shifted by start_h and
clipped to [0, H]; columns alike. A bin's value is the maximum of its cells, starting from
-FLT_MAX and replaced only by a strictly greater value; a bin left empty by the clipping is 0.
"""

from __future__ import annotations

import math

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import expect_count, fail
from converter.caffe.net import CaffeLayer, Shape

FLT_MAX = np.float32(np.finfo(np.float32).max)


def pooled_size(layer: CaffeLayer) -> tuple[int, int]:
    p = layer.param.roi_pooling_param
    if p.pooled_h <= 0 or p.pooled_w <= 0:
        raise fail(layer, f"pooled_h and pooled_w must be > 0, got {p.pooled_h} and {p.pooled_w}")
    return int(p.pooled_h), int(p.pooled_w)


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    expect_count(layer, bottoms, bottoms_n=2)
    return _shapes(layer, bottoms)


def _shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    features, rois = bottoms
    if len(features) != 4:
        raise fail(layer, f"features must have 4 axes (num, channels, height, width), got {list(features)}")
    if len(rois) < 2 or math.prod(rois[1:]) != 5 or rois[0] < 0:
        raise fail(layer, f"rois must hold 5 values per roi ([batch index, x1, y1, x2, y2]), got {list(rois)}")
    return [(rois[0], features[1], *pooled_size(layer))]


def c_round(values: np.ndarray) -> np.ndarray:
    """C's round(): half away from zero (numpy's rounds half to even); exact for float32 inputs."""
    wide = values.astype(np.float64)
    return np.sign(wide) * np.floor(np.abs(wide) + 0.5)


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    features, rois = (np.asarray(v, np.float32) for v in inputs)
    # No rois at all is a valid run (every proposal filtered out): Caffe's blobs may hold 0 rows.
    ((r, c, ph_n, pw_n),) = _shapes(layer, [tuple(features.shape), tuple(rois.shape)])
    n, _, h, w = features.shape
    rois = rois.reshape(r, 5)
    scale = np.float32(layer.param.roi_pooling_param.spatial_scale)
    top = np.empty((r, c, ph_n, pw_n), np.float32)
    for i in range(r):
        batch = int(rois[i, 0])  # truncation toward zero, as the int conversion
        if not 0 <= batch < n:
            raise fail(layer, f"roi {i} names batch item {batch}, outside [0, {n})")
        start_w, start_h, end_w, end_h = (int(v) for v in c_round(rois[i, 1:] * scale))
        bin_h = np.float32(max(end_h - start_h + 1, 1)) / np.float32(ph_n)
        bin_w = np.float32(max(end_w - start_w + 1, 1)) / np.float32(pw_n)
        for ph in range(ph_n):
            h0 = min(max(math.floor(np.float32(ph) * bin_h) + start_h, 0), h)
            h1 = min(max(math.ceil(np.float32(ph + 1) * bin_h) + start_h, 0), h)
            for pw in range(pw_n):
                w0 = min(max(math.floor(np.float32(pw) * bin_w) + start_w, 0), w)
                w1 = min(max(math.ceil(np.float32(pw + 1) * bin_w) + start_w, 0), w)
                if h1 <= h0 or w1 <= w0:
                    top[i, :, ph, pw] = 0
                else:
                    top[i, :, ph, pw] = np.maximum(features[batch, :, h0:h1, w0:w1].max(axis=(1, 2)), -FLT_MAX)
    return [top]


register("ROIPooling", output_shapes=output_shapes, forward=forward)
