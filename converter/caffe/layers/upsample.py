"""Upsample: two fork layers under one name, told apart by their bottoms.

One bottom, the YOLOv3 ports (ChenYingpeng/caffe-yolov3 upsample_layer): nearest neighbour by an
integer factor. `upsample_param.scale` s (at least 1; the YOLO ports' schema defaults it to 1,
SegNet's to 2, so an unset scale is 1 here): the top is (N, C, H * s, W * s) with
top[n, c, h, w] = bottom[n, c, h / s, w / s] (integer division). SegNet's other fields (scale_h/_w,
upsample_h/_w, pad_out_h/_w) mean nothing to this one and are refused.

Two bottoms, SegNet/ENet (alexgkendall/caffe-segnet upsample_layer.cpp): unpooling by the argmax
mask a MAX Pooling wrote. Bottoms: data (N, C, H, W) and a mask of the same shape (the Pooling's
second top). The top is (N, C, out_h, out_w): `upsample_h` and `upsample_w` when both are given
(each must exceed 1), else H * scale_h - pad_out_h and W * scale_w - pad_out_w, with scale_h =
scale_w = `scale` (SegNet's default 2) unless `scale_h` and `scale_w` are both given (each must
exceed 1; `pad_out_*` needs that axis's scale to be 2). Giving `scale` with `scale_h`/`scale_w`, or
only one of `scale_h`/`scale_w`, is refused. Forward: the top starts at 0; then for each plane
(n, c) and each bottom cell i in row-major order, top[n, c, int(mask[i])] = data[i] (the float mask
truncated, a flat index into the out_h x out_w plane), so a later cell writing the same index wins.
An index at or past out_h * out_w is Caffe's fatal error; a negative one writes outside the plane in
Caffe (undefined), and is refused here.
"""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import expect_count, fail, no_in_place
from converter.caffe.net import CaffeLayer, Shape

SEGNET_DEFAULT_SCALE = 2


def nearest_scale(layer: CaffeLayer, bottoms: list[Shape]) -> int:
    """The YOLO-style factor of a one-bottom Upsample, after Caffe's checks."""
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


def unpooled_size(layer: CaffeLayer, in_hw: tuple[int, int]) -> tuple[int, int]:
    """(out_h, out_w) of a two-bottom Upsample for a data plane of `in_hw`, with the checks of
    SegNet's UpsampleLayer::LayerSetUp."""
    p = layer.param.upsample_param
    if p.HasField("upsample_h") and p.HasField("upsample_w"):
        size = (int(p.upsample_h), int(p.upsample_w))
        if min(size) <= 1:
            raise fail(layer, f"upsample_h and upsample_w must exceed 1, got {list(size)}")
        return size
    has_h, has_w = p.HasField("scale_h"), p.HasField("scale_w")
    if (has_h or has_w) and not (has_h and has_w and not p.HasField("scale")):
        raise fail(layer, "upsample_h & upsample_w are required, else scale OR scale_h & scale_w")
    square = int(p.scale) if p.HasField("scale") else SEGNET_DEFAULT_SCALE
    scale = (int(p.scale_h), int(p.scale_w)) if has_h else (square, square)
    if min(scale) <= 1:
        raise fail(layer, f"the upsampling scale must exceed 1, got {list(scale)}")
    pad_out = (bool(p.pad_out_h), bool(p.pad_out_w))
    for axis in (0, 1):
        if pad_out[axis] and scale[axis] != 2:
            raise fail(layer, f"pad_out_{'hw'[axis]} requires scale_{'hw'[axis]} == 2, got {scale[axis]}")
    return in_hw[0] * scale[0] - int(pad_out[0]), in_hw[1] * scale[1] - int(pad_out[1])


def _unpooled_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    data, mask = bottoms
    if len(data) != 4 or len(mask) != 4:
        raise fail(layer, f"data and mask must have 4 axes (num, channels, height, width), got {list(data)} "
                          f"and {list(mask)}")
    if data != mask:
        raise fail(layer, f"the mask {list(mask)} must have the data's shape {list(data)}")
    return [(data[0], data[1], *unpooled_size(layer, (data[2], data[3])))]


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    if len(bottoms) == 2:
        expect_count(layer, bottoms, bottoms_n=2)
        return _unpooled_shapes(layer, bottoms)
    scale = nearest_scale(layer, bottoms)
    n, c, h, w = bottoms[0]
    return [(n, c, h * scale, w * scale)]


def _unpool(layer: CaffeLayer, data: np.ndarray, mask: np.ndarray) -> np.ndarray:
    ((n, c, oh, ow),) = output_shapes(layer, [tuple(data.shape), tuple(mask.shape)])
    index = mask.reshape(n * c, -1).astype(np.int64)  # truncates toward zero, as static_cast<int>
    bad = (index < 0) | (index >= oh * ow)
    if bad.any():
        raise fail(layer, f"mask index {int(index[bad][0])} lies outside the {oh}x{ow} output plane: does "
                          "the upsampling size match the pooling that wrote the mask?")
    # The last bottom cell writing each top cell: np.maximum.at applies every write, in no fixed
    # order but with a fixed outcome (plain fancy assignment leaves repeated indices unspecified).
    rows = np.arange(n * c)[:, None]
    last = np.full((n * c, oh * ow), -1, np.int64)
    np.maximum.at(last, (rows, index), np.broadcast_to(np.arange(index.shape[1]), index.shape))
    flat = data.reshape(n * c, -1)
    top = np.where(last >= 0, flat[rows, np.maximum(last, 0)], np.float32(0)).astype(np.float32)
    return top.reshape(n, c, oh, ow)


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    if len(inputs) == 2:
        data, mask = (np.asarray(v, np.float32) for v in inputs)
        return [_unpool(layer, data, mask)]
    scale = nearest_scale(layer, [tuple(x.shape) for x in inputs])
    x = np.asarray(inputs[0], dtype=np.float32)
    return [np.repeat(np.repeat(x, scale, axis=2), scale, axis=3)]


register("Upsample", output_shapes=output_shapes, forward=forward)
