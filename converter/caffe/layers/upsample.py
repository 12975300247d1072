"""Upsample, as the YOLOv3 ports define it (ChenYingpeng/caffe-yolov3 upsample_layer): nearest
neighbour by an integer factor.

One bottom (N, C, H, W) and `upsample_param.scale` s (at least 1; the YOLO ports' schema defaults it
to 1, SegNet's to 2, so an unset scale is 1 here): the top is (N, C, H * s, W * s) with
top[n, c, h, w] = bottom[n, c, h / s, w / s] (integer division). SegNet's Upsample, which takes the
argmax mask of a MAX Pooling as a second bottom, is another layer under the same name; its other
fields (scale_h/_w, upsample_h/_w, pad_out_h/_w) mean nothing to this one and are refused.
"""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import expect_count, fail, no_in_place
from converter.caffe.net import CaffeLayer, Shape


def nearest_scale(layer: CaffeLayer, bottoms: list[Shape]) -> int:
    """The YOLO-style factor, after Caffe's checks; a mask bottom (SegNet's kind) is refused."""
    if len(bottoms) == 2:
        raise fail(layer, "Upsample with a second bottom (SegNet's unpooling by a MAX Pooling mask) is not "
                          "converted; the YOLO ports' Upsample (one bottom, `scale`) is")
    expect_count(layer, bottoms)
    no_in_place(layer)
    if len(bottoms[0]) != 4:
        raise fail(layer, f"bottom must be 4-D (N, C, H, W), got {list(bottoms[0])}")
    p = layer.param.upsample_param
    segnet = [f.name for f, _ in p.ListFields() if f.name != "scale"]
    if segnet:
        raise fail(layer, f"a one-bottom Upsample (the YOLO ports' nearest upsampling) takes `scale` only; "
                          f"{', '.join(segnet)} belong to SegNet's two-bottom Upsample")
    scale = int(p.scale) if p.HasField("scale") else 1
    if scale < 1:
        raise fail(layer, f"scale must be at least 1, got {scale}")
    return scale


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    scale = nearest_scale(layer, bottoms)
    n, c, h, w = bottoms[0]
    return [(n, c, h * scale, w * scale)]


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    scale = nearest_scale(layer, [tuple(x.shape) for x in inputs])
    x = np.asarray(inputs[0], dtype=np.float32)
    return [np.repeat(np.repeat(x, scale, axis=2), scale, axis=3)]


register("Upsample", output_shapes=output_shapes, forward=forward)
