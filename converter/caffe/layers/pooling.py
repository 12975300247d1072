"""Pooling: MAX or AVE over 2-D windows of a 4-D (N, C, H, W) bottom.

Caffe's rules (pooling_layer.cpp):
- `kernel_size` or both `kernel_h`/`kernel_w`; `pad` or `pad_h`/`pad_w`; `stride` or `stride_h`/`stride_w`.
- `global_pooling`: the kernel is the whole input; pad must be 0 and stride 1.
- Output size rounds up (`round_mode` CEIL, the default) or down (FLOOR). The DenseNet/ResNeXt ports'
  fork (BVLC PR 3057) says the same with `ceil_mode` (default true; `ceil_mode: false` is FLOOR):
  `out = ceil((in + 2*pad - kernel) / stride) + 1`; then, if either pad is nonzero, each axis whose
  last window would start at or past `in + pad` loses that window. A kernel larger than the padded
  input is allowed as long as this gives an output (stride 2: ceil(-1 / 2) + 1 = 1 window).
- MAX ignores padding (a window lying wholly outside the image gives -FLT_MAX, Caffe's initial value).
- AVE sums the window clipped to the image and divides by the window clipped to `[-pad, in + pad)`,
  so padding counts in the divisor but the round-up overhang does not.
- Padding is only allowed for MAX and AVE and must be smaller than the kernel. STOCHASTIC pooling is
  not implemented on Caffe's CPU path and is rejected here.
- In a net written for the YOLOv3 ports' Caffe (converter.caffe.fork_semantics), each axis gets one more
  window, clipped to the input, when kernel_h - stride_h is positive and odd (darknet's size 2 stride 1
  maxpool).
- MAX may have a second top, the argmax mask (SegNet-style nets keep it; no BVLC layer reads it):
  per output cell, the index h * W + w within the bottom's channel plane of the first cell, in
  row-major order, whose value beats all before it, starting from -FLT_MAX (`>`, so the first of
  equal maxima), as a float; -1 where no cell beats -FLT_MAX (a window of padding only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from converter.caffe import caffe_pb2
from converter.caffe.fork_semantics import YOLOV3, yolo_extra_window
from converter.caffe.layers import register
from converter.caffe.layers.common import expect_count, fail, pad_hw, tap
from converter.caffe.net import CaffeLayer, Shape

MAX = caffe_pb2.PoolingParameter.MAX
AVE = caffe_pb2.PoolingParameter.AVE
FLT_MAX = np.float32(np.finfo(np.float32).max)


@dataclass(frozen=True)
class PoolGeometry:
    method: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int]
    out: tuple[int, int]


def geometry(layer: CaffeLayer, bottoms: list[Shape]) -> PoolGeometry:
    expect_count(layer, bottoms, tops_n=None)
    p = layer.param.pooling_param
    tops = 2 if p.pool == MAX else 1
    if not 1 <= len(layer.tops) <= tops:
        raise fail(layer, f"Pooling makes 1 top, or 2 for MAX (the second the argmax mask); this "
                          f"{caffe_pb2.PoolingParameter.PoolMethod.Name(p.pool)} layer names {len(layer.tops)}")
    if len(bottoms[0]) != 4:
        raise fail(layer, f"input must have 4 axes (num, channels, height, width), got {list(bottoms[0])}")
    if p.pool not in (MAX, AVE):
        raise fail(layer, "STOCHASTIC pooling is not converted: Caffe's CPU path does not implement it (its GPU "
                          "test pass takes sum(x^2) / sum(x) per window); only MAX and AVE are")
    _, _, h, w = bottoms[0]
    has_hw_kernel = p.HasField("kernel_h") or p.HasField("kernel_w")
    if p.global_pooling:
        if p.HasField("kernel_size") or has_hw_kernel:
            raise fail(layer, "with global_pooling: true the filter size cannot be specified")
        kernel = (h, w)
    else:
        if p.HasField("kernel_size") == has_hw_kernel:
            raise fail(layer, "filter size is kernel_size OR kernel_h and kernel_w; not both")
        if has_hw_kernel and not (p.HasField("kernel_h") and p.HasField("kernel_w")):
            raise fail(layer, "for non-square filters both kernel_h and kernel_w are required")
        kernel = (p.kernel_size, p.kernel_size) if p.HasField("kernel_size") else (p.kernel_h, p.kernel_w)
    if min(kernel) <= 0:
        raise fail(layer, f"filter dimensions must be greater than zero, got {list(kernel)}")
    pad = _pair(layer, p, "pad", p.pad)
    stride = _pair(layer, p, "stride", p.stride)
    if min(stride) <= 0:
        raise fail(layer, f"stride must be positive, got {list(stride)}")
    if p.global_pooling and (pad != (0, 0) or stride != (1, 1)):
        raise fail(layer, "with global_pooling: true only pad = 0 and stride = 1 are allowed")
    if pad[0] >= kernel[0] or pad[1] >= kernel[1]:
        raise fail(layer, f"pad {list(pad)} must be smaller than the kernel {list(kernel)}")
    floor = _floor_rounding(layer, p)
    out = []
    for axis, size in enumerate((h, w)):
        # A kernel larger than the padded input still gives one window when the stride rounds the
        # negative span up to 0 (ceil(-1 / 2) = 0), as Caffe's float ceil does.
        span = size + 2 * pad[axis] - kernel[axis]
        rounded = math.floor(span / stride[axis]) if floor else -(-span // stride[axis])
        out.append(rounded + 1)
    if layer.fork == YOLOV3 and yolo_extra_window(kernel[0], stride[0]):
        # The YOLO ports' extra window (converter.caffe.fork_semantics), added on both axes as their Reshape does.
        out = [o + 1 for o in out]
    # Caffe applies this clip to both axes as soon as either pad is nonzero.
    if pad != (0, 0):
        for axis, size in enumerate((h, w)):
            if (out[axis] - 1) * stride[axis] >= size + pad[axis]:
                out[axis] -= 1
    for axis, size in enumerate((h, w)):
        if out[axis] <= 0:
            raise fail(layer, f"kernel {kernel[axis]} exceeds the padded input size {size + 2 * pad[axis]} "
                              f"along {'HW'[axis]}: no output")
    return PoolGeometry(p.pool, kernel, stride, pad, (out[0], out[1]))


def _floor_rounding(layer: CaffeLayer, p: caffe_pb2.PoolingParameter) -> bool:
    """Whether the output size rounds down: BVLC's `round_mode: FLOOR` or the fork's `ceil_mode: false`."""
    floor = p.round_mode == caffe_pb2.PoolingParameter.FLOOR
    if p.HasField("ceil_mode"):
        if p.HasField("round_mode") and floor == p.ceil_mode:
            raise fail(layer, f"round_mode {caffe_pb2.PoolingParameter.RoundMode.Name(p.round_mode)} and ceil_mode "
                              f"{str(p.ceil_mode).lower()} contradict each other")
        floor = not p.ceil_mode
    return floor


def _pair(layer: CaffeLayer, p: object, name: str, square: int) -> tuple[int, int]:
    has_h, has_w = p.HasField(f"{name}_h"), p.HasField(f"{name}_w")  # type: ignore[attr-defined]
    if not (has_h or has_w):
        return int(square), int(square)
    if p.HasField(name) or not (has_h and has_w):  # type: ignore[attr-defined]
        raise fail(layer, f"{name} is {name} OR {name}_h and {name}_w are required")
    return int(getattr(p, f"{name}_h")), int(getattr(p, f"{name}_w"))


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    g = geometry(layer, bottoms)
    n, c, _, _ = bottoms[0]
    return [(n, c, *g.out) for _ in layer.tops]


def _divisor(size: int, kernel: int, stride: int, pad: int, out: int) -> np.ndarray:
    start = np.arange(out) * stride - pad
    return (np.minimum(start + kernel, size + pad) - start).astype(np.float32)


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    x = np.asarray(x, dtype=np.float32)
    g = geometry(layer, [tuple(x.shape)])
    _, _, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = g.kernel, g.stride, g.pad, g.out
    # Pad so every window fits: left by pad, right up to the last window's end.
    bottom = max(0, (oh - 1) * sh + kh - ph - h)
    right = max(0, (ow - 1) * sw + kw - pw - w)
    fill = float(-FLT_MAX) if g.method == MAX else 0.0
    xp = pad_hw(x, ph, bottom, pw, right, fill)
    if oh * ow <= kh * kw:
        # Few, large windows: one reduction per output cell costs fewer Python steps than one per tap.
        y = np.empty((*x.shape[:2], oh, ow), np.float32)
        for i in range(oh):
            for j in range(ow):
                window = xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
                y[:, :, i, j] = window.max(axis=(2, 3)) if g.method == MAX else window.sum(axis=(2, 3))
    else:
        y = tap(xp, 0, 0, g.stride, g.out).copy()
        reduce = np.maximum if g.method == MAX else np.add
        for i in range(kh):
            for j in range(kw):
                if i or j:
                    reduce(y, tap(xp, i, j, g.stride, g.out), out=y)
    if g.method == AVE:
        divisor = np.outer(_divisor(h, kh, sh, ph, oh), _divisor(w, kw, sw, pw, ow))
        y = y / divisor
    tops = [y.astype(np.float32, copy=False)]
    if len(layer.tops) == 2:
        tops.append(_argmax_mask(xp, g, w))
    return tops


def _argmax_mask(xp: np.ndarray, g: PoolGeometry, width: int) -> np.ndarray:
    """Caffe's mask top over the padded `xp` (padding cells hold -FLT_MAX, so never beat it): the
    running maximum starts at -FLT_MAX and index -1, and a cell replaces them only when strictly
    greater, in row-major order over the window (NaN never does)."""
    (kh, kw), (sh, sw), (ph, pw), (oh, ow) = g.kernel, g.stride, g.pad, g.out
    rows = (np.arange(oh) * sh - ph)[:, None]  # each window's first row and column, in bottom coordinates
    cols = (np.arange(ow) * sw - pw)[None, :]
    if oh * ow <= kh * kw:
        # Few, large windows: one masked argmax per window (argmax gives the first of equal maxima).
        mask = np.empty((*xp.shape[:2], oh, ow), np.float32)
        for i in range(oh):
            for j in range(ow):
                window = xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw].reshape(*xp.shape[:2], -1)
                beats = window > -FLT_MAX
                first = np.argmax(np.where(beats, window, -np.inf), axis=2)
                r, q = np.divmod(first, kw)
                index = (rows[i, 0] + r) * width + cols[0, j] + q
                mask[:, :, i, j] = np.where(beats.any(axis=2), index, -1)
        return mask
    best = np.full((*xp.shape[:2], oh, ow), -FLT_MAX, np.float32)
    index = np.full(best.shape, -1, np.int64)
    for i in range(kh):
        for j in range(kw):
            view = tap(xp, i, j, g.stride, g.out)
            greater = view > best
            best = np.where(greater, view, best)
            index = np.where(greater, (rows + i) * width + cols + j, index)
    return index.astype(np.float32)


def follow_ties(layer: CaffeLayer, x: np.ndarray, tops: list[np.ndarray], chosen: np.ndarray,
                tolerance: float) -> tuple[list[np.ndarray], int] | None:
    """`tops` (pooled values, mask) of a MAX Pooling over `x` with each window's cell taken from
    `chosen` (another run's mask) where the two masks differ, and how many windows that changed;
    None unless every such cell lies in its window and holds a value within `tolerance` * max(1,
    max|x|) of the window's maximum (a near-tie, which float32 rounding may resolve either way)."""
    pooled, mask = tops
    if chosen.shape != mask.shape or not np.all(np.isfinite(chosen)):
        return None
    differ = np.nonzero(chosen != mask)
    if not differ[0].size:
        return tops, 0
    g = geometry(layer, [tuple(x.shape)])
    _, _, h, w = x.shape
    index = chosen[differ]
    cell = index.astype(np.int64)
    row, col = np.divmod(cell, w)
    first_row = differ[2] * g.stride[0] - g.pad[0]
    first_col = differ[3] * g.stride[1] - g.pad[1]
    inside = ((index == cell) & (cell >= 0) & (cell < h * w) & (row >= first_row) & (row < first_row + g.kernel[0])
              & (col >= first_col) & (col < first_col + g.kernel[1]))
    if not inside.all():
        return None
    values = x[differ[0], differ[1], row, col]
    bound = tolerance * max(1.0, float(np.abs(x[np.isfinite(x)]).max(initial=0.0)))
    if not np.all(pooled[differ].astype(np.float64) - values <= bound):
        return None
    pooled, mask = pooled.copy(), mask.copy()
    pooled[differ], mask[differ] = values, index
    return [pooled, mask], int(index.size)


register("Pooling", output_shapes=output_shapes, forward=forward)
