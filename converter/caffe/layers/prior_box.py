"""PriorBox (SSD fork): the default boxes of one feature map, computed from shapes alone.

Top: (1, 2, H * W * num_priors * 4) for a bottom[0] feature map of H x W; channel 0 holds each
prior's (xmin, ymin, xmax, ymax) normalised by the image size, channel 1 its four variances. The
image size is `img_h`/`img_w` (or `img_size`), else bottom[1]'s height and width; the step is
`step_h`/`step_w` (or `step`), else image size / feature size. Per cell (row-major), per min_size:
a square of min_size, then (with max_sizes) a square of sqrt(min_size * max_size), then one box per
aspect ratio other than 1 (width min_size * sqrt(ar), height min_size / sqrt(ar)). Aspect ratios
start with 1, skip repeats (within 1e-6), and with `flip` add 1/ar after each ar. Caffe reads
min_size and max_size into ints (truncating) before using them. `clip` clamps coordinates to
[0, 1]. Variances: one value for all four, or exactly four, default 0.1. chuanqi305's
`reduce_boxes` halves the first square.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import expect_count, fail
from converter.caffe.net import CaffeLayer, Shape


@dataclass(frozen=True)
class PriorSettings:
    min_sizes: tuple[float, ...]
    max_sizes: tuple[float, ...]
    aspect_ratios: tuple[float, ...]
    clip: bool
    variances: tuple[float, ...]
    img_hw: tuple[int, int]  # (0, 0): bottom[1]'s
    step_hw: tuple[float, float]  # (0, 0): image size / feature size
    offset: float
    reduce_boxes: bool

    @property
    def num_priors(self) -> int:
        return len(self.aspect_ratios) * len(self.min_sizes) + len(self.max_sizes)


def settings(layer: CaffeLayer) -> PriorSettings:
    """PriorBoxLayer::LayerSetUp's checks and derived values."""
    p = layer.param.prior_box_param
    min_sizes = tuple(float(v) for v in p.min_size)
    if not min_sizes:
        raise fail(layer, "PriorBox must provide min_size")
    if any(not v > 0 for v in min_sizes):
        raise fail(layer, f"min_size must be positive: {list(min_sizes)}")
    ratios = [1.0]
    for ar in p.aspect_ratio:
        ar = float(np.float32(ar))
        if not any(abs(ar - known) < 1e-6 for known in ratios):
            ratios.append(ar)
            if p.flip:
                ratios.append(float(np.float32(1.0 / ar)))
    max_sizes = tuple(float(v) for v in p.max_size)
    if max_sizes:
        if len(max_sizes) != len(min_sizes):
            raise fail(layer, f"{len(max_sizes)} max_size values for {len(min_sizes)} min_size values")
        for low, high in zip(min_sizes, max_sizes, strict=True):
            if not high > low:
                raise fail(layer, f"max_size {high:g} must be greater than min_size {low:g}")
    variances = tuple(float(v) for v in p.variance) or (0.1,)
    if len(variances) not in (1, 4):
        raise fail(layer, f"give one variance or exactly four, not {len(variances)}")
    if any(not v > 0 for v in variances):
        raise fail(layer, f"variances must be positive: {list(variances)}")
    if p.HasField("img_h") or p.HasField("img_w"):
        if p.HasField("img_size"):
            raise fail(layer, "either img_size or img_h/img_w should be specified; not both")
        img_hw = (int(p.img_h), int(p.img_w))
        if min(img_hw) <= 0:
            raise fail(layer, f"img_h and img_w must be larger than 0: {list(img_hw)}")
    elif p.HasField("img_size"):
        if p.img_size <= 0:
            raise fail(layer, "img_size should be larger than 0")
        img_hw = (int(p.img_size), int(p.img_size))
    else:
        img_hw = (0, 0)
    if p.HasField("step_h") or p.HasField("step_w"):
        if p.HasField("step"):
            raise fail(layer, "either step or step_h/step_w should be specified; not both")
        step_hw = (float(p.step_h), float(p.step_w))
        if not min(step_hw) > 0:
            raise fail(layer, f"step_h and step_w must be larger than 0: {list(step_hw)}")
    elif p.HasField("step"):
        if not p.step > 0:
            raise fail(layer, "step should be larger than 0")
        step_hw = (float(p.step), float(p.step))
    else:
        step_hw = (0.0, 0.0)
    reduce_boxes = bool(getattr(p, "reduce_boxes", False))
    return PriorSettings(min_sizes, max_sizes, tuple(ratios), bool(p.clip), variances, img_hw, step_hw,
                         float(p.offset), reduce_boxes)


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    expect_count(layer, bottoms, bottoms_n=(1, 2))
    s = settings(layer)
    if 0 in s.img_hw and len(bottoms) < 2:
        raise fail(layer, "without img_size (or img_h/img_w) PriorBox reads the image size from a second bottom")
    for shape in bottoms:
        if len(shape) != 4:
            raise fail(layer, f"PriorBox reads height and width of 4-D bottoms, got {list(shape)}")
    h, w = bottoms[0][2:]
    return [(1, 2, h * w * s.num_priors * 4)]


def priors(s: PriorSettings, feature_hw: tuple[int, int], image_hw: tuple[int, int]) -> np.ndarray:
    """PriorBoxLayer::Forward_cpu: the (1, 2, H * W * num_priors * 4) top, float32."""
    layer_h, layer_w = feature_hw
    img_h, img_w = s.img_hw if 0 not in s.img_hw else image_hw
    f32 = np.float32
    if 0 in s.step_hw:
        step_w, step_h = f32(f32(img_w) / f32(layer_w)), f32(f32(img_h) / f32(layer_h))
    else:
        step_h, step_w = f32(s.step_hw[0]), f32(s.step_hw[1])
    # Box sizes per cell, in Caffe's order; min/max sizes are read into ints first.
    sizes: list[tuple[float, float]] = []
    for k, min_value in enumerate(s.min_sizes):
        min_size = int(min_value)
        first = min_size / 2.0 if s.reduce_boxes else float(min_size)
        sizes.append((float(f32(first)), float(f32(first))))
        if s.max_sizes:
            side = float(f32(math.sqrt(min_size * int(s.max_sizes[k]))))
            sizes.append((side, side))
        for ar in s.aspect_ratios:
            if abs(ar - 1.0) < 1e-6:
                continue
            sizes.append((float(f32(min_size * math.sqrt(ar))), float(f32(min_size / math.sqrt(ar)))))
    widths = np.array([w for w, _ in sizes], np.float64)
    heights = np.array([h for _, h in sizes], np.float64)
    offset = f32(s.offset)
    cx = ((np.arange(layer_w, dtype=f32) + offset) * step_w).astype(np.float64)  # float in Caffe
    cy = ((np.arange(layer_h, dtype=f32) + offset) * step_h).astype(np.float64)
    grid = (layer_h, layer_w, len(sizes))
    cy, cx = np.broadcast_to(cy[:, None, None], grid), np.broadcast_to(cx[None, :, None], grid)
    # Caffe's expressions mix float and double (box_width / 2. is a double): computed in double,
    # stored as float.
    boxes = np.stack([(cx - widths / 2.0) / img_w, (cy - heights / 2.0) / img_h,
                      (cx + widths / 2.0) / img_w, (cy + heights / 2.0) / img_h], axis=-1)
    coords = boxes.astype(f32).reshape(-1)
    if s.clip:
        coords = np.clip(coords, f32(0), f32(1))
    variances = np.broadcast_to(np.array(s.variances, f32), (coords.size // 4, 4)).reshape(-1)
    return np.stack([coords, variances])[None].astype(f32)


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    image_hw = tuple(inputs[1].shape[2:4]) if len(inputs) > 1 else (0, 0)
    return [priors(settings(layer), tuple(inputs[0].shape[2:4]), image_hw)]  # type: ignore[arg-type]


register("PriorBox", output_shapes=output_shapes, forward=forward)
