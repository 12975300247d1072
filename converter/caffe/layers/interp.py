"""Interp (DeepLab v2 / PSPNet interp_layer.cpp with caffe_cpu_interp2): bilinear resize, corners aligned.

The input is first cut by `pad_beg`/`pad_end` (both at most 0: -pad_beg rows/columns dropped at the
start, -pad_end at the end), giving h x w. The output size, in DeepLab's order of precedence:
- `shrink_factor` s alone: ((h - 1) / s + 1, ...) in integer division;
- `zoom_factor` z alone: (h + (h - 1) * (z - 1), ...);
- `height` and `width`: as given;
- both factors: shrink first, then zoom;
- else a second bottom: its height and width.
caffe_cpu_interp2 then computes, in float32, rh = (h - 1) / (oh - 1) (0 when oh is 1), and for
output row i: r = rh * i, r0 = (int) r, r1 = r0 + 1 unless r0 is the last row, lr = r - r0; likewise
for columns; y = (1 - lr) * ((1 - lc) * x[r0, c0] + lc * x[r0, c1]) + lr * ((1 - lc) * x[r1, c0] +
lc * x[r1, c1]). An output of the input's size is a plain copy.
"""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import expect_count, fail, no_in_place
from converter.caffe.net import CaffeLayer, Shape


def interp_geometry(layer: CaffeLayer, bottoms: list[Shape]) -> tuple[int, int, tuple[int, int]]:
    """(rows/columns dropped at the start, at the end, output (height, width))."""
    expect_count(layer, bottoms, bottoms_n=(1, 2))
    no_in_place(layer)
    if any(len(b) != 4 for b in bottoms):
        raise fail(layer, f"bottoms must be 4-D (N, C, H, W), got {[list(b) for b in bottoms]}")
    p = layer.param.interp_param
    begin, end = int(p.pad_beg), int(p.pad_end)
    if begin > 0 or end > 0:
        raise fail(layer, f"pad_beg {begin} and pad_end {end} must be at most 0 (Interp only crops)")
    h, w = (d + begin + end for d in bottoms[0][2:])
    if h <= 0 or w <= 0:
        raise fail(layer, f"pad_beg {begin} and pad_end {end} leave nothing of a {list(bottoms[0][2:])} input")
    has_shrink, has_zoom = p.HasField("shrink_factor"), p.HasField("zoom_factor")
    shrink, zoom = int(p.shrink_factor), int(p.zoom_factor)
    if (has_shrink and shrink < 1) or (has_zoom and zoom < 1):
        raise fail(layer, f"shrink_factor {shrink} and zoom_factor {zoom} must be at least 1")
    if has_shrink and not has_zoom:
        out = ((h - 1) // shrink + 1, (w - 1) // shrink + 1)
    elif has_zoom and not has_shrink:
        out = (h + (h - 1) * (zoom - 1), w + (w - 1) * (zoom - 1))
    elif p.HasField("height") and p.HasField("width"):
        out = (int(p.height), int(p.width))
    elif has_shrink and has_zoom:
        shrunk = ((h - 1) // shrink + 1, (w - 1) // shrink + 1)
        out = (shrunk[0] + (shrunk[0] - 1) * (zoom - 1), shrunk[1] + (shrunk[1] - 1) * (zoom - 1))
    elif len(bottoms) == 2:
        out = (bottoms[1][2], bottoms[1][3])
    else:
        raise fail(layer, "the output size is given by none of shrink_factor, zoom_factor, height and width, "
                          "or a second bottom")
    if min(out) <= 0:
        raise fail(layer, f"output size {list(out)} must be positive")
    return -begin, -end, out


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    _, _, out = interp_geometry(layer, bottoms)
    return [(*bottoms[0][:2], *out)]


def _source(size: int, out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output index: first and second source index and the second's weight, in float32."""
    ratio = np.float32(size - 1) / np.float32(out - 1) if out > 1 else np.float32(0)
    position = ratio * np.arange(out, dtype=np.float32)
    first = position.astype(np.int64)
    second = np.where(first < size - 1, first + 1, first)
    return first, second, (position - first.astype(np.float32)).astype(np.float32)


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    begin, end, (oh, ow) = interp_geometry(layer, [tuple(x.shape) for x in inputs])
    x = np.asarray(inputs[0], dtype=np.float32)
    x = x[:, :, begin : x.shape[2] - end, begin : x.shape[3] - end]
    h, w = x.shape[2:]
    if (oh, ow) == (h, w):
        return [np.ascontiguousarray(x)]
    r0, r1, lr = _source(h, oh)
    c0, c1, lc = _source(w, ow)
    lr, lc = lr[:, None], lc[None, :]
    one = np.float32(1)
    top = (one - lc) * x[:, :, r0][:, :, :, c0] + lc * x[:, :, r0][:, :, :, c1]
    bottom = (one - lc) * x[:, :, r1][:, :, :, c0] + lc * x[:, :, r1][:, :, :, c1]
    return [((one - lr) * top + lr * bottom).astype(np.float32, copy=False)]


register("Interp", output_shapes=output_shapes, forward=forward)
