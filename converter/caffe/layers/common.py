"""Helpers shared by several layer types: Caffe's parameter checks, axis rules and window views."""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from converter.caffe.net import CaffeLayer, Shape
from converter.errors import ModelError


def fail(layer: CaffeLayer, message: str) -> ModelError:
    """A ModelError naming the layer, to `raise`."""
    return ModelError(message, layer=layer.name)


def expect_count(
    layer: CaffeLayer, bottoms: list[Shape], *, bottoms_n: int | tuple[int, int] = 1, tops_n: int | None = 1
) -> None:
    """Caffe's Exact/Min/MaxNum{Bottom,Top}Blobs checks; `bottoms_n` is exact or an inclusive (min, max)."""
    low, high = (bottoms_n, bottoms_n) if isinstance(bottoms_n, int) else bottoms_n
    if not low <= len(bottoms) <= high:
        want = str(low) if low == high else f"{low} to {high}" if high < 1 << 30 else f"at least {low}"
        raise fail(layer, f"{layer.type} takes {want} bottom(s), got {len(bottoms)}")
    if tops_n is not None and len(layer.tops) != tops_n:
        raise fail(layer, f"{layer.type} makes {tops_n} top(s), the layer names {len(layer.tops)}")
    for shape in bottoms:
        if any(d <= 0 for d in shape):
            raise fail(layer, f"bottom shape {list(shape)} has a non-positive dimension")


def same_shape(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    """Element-wise (neuron) layers: one bottom, one top of the same shape."""
    expect_count(layer, bottoms)
    return [bottoms[0]]


def no_in_place(layer: CaffeLayer) -> None:
    """Caffe's CHECK_NE(top[0], bottom[0]) for layers that cannot work in place."""
    if layer.tops and layer.bottoms and layer.tops[0] == layer.bottoms[0]:
        raise fail(layer, f"{layer.type} does not allow in-place computation (top == bottom)")


def canonical_axis(layer: CaffeLayer, axis: int, ndim: int) -> int:
    """Blob::CanonicalAxisIndex: negative axes count from the end; must lie in [-ndim, ndim)."""
    if not -ndim <= axis < ndim:
        raise fail(layer, f"axis {axis} out of range for a {ndim}-D bottom")
    return axis + ndim if axis < 0 else axis


def count(shape: Shape, start: int = 0, end: int | None = None) -> int:
    """Blob::count(start, end): product of the dims in [start, end)."""
    return math.prod(shape[start:end])


def spatial_param(
    layer: CaffeLayer, param: object, name: str, default: int, *, has_hw: bool = True
) -> tuple[int, int]:
    """A 2-D ConvolutionParameter setting: `name_h`/`name_w` if either is set, else the repeated field.

    The repeated field may hold 0 values (default), 1 (both axes) or 2 (h, w), as in
    BaseConvolutionLayer::LayerSetUp; giving both forms is an error.
    """
    field = "kernel_size" if name == "kernel" else name
    values = [int(v) for v in getattr(param, field)]
    if has_hw and (param.HasField(f"{name}_h") or param.HasField(f"{name}_w")):  # type: ignore[attr-defined]
        if values:
            raise fail(layer, f"either {field} or {name}_h/{name}_w should be specified; not both")
        return int(getattr(param, f"{name}_h")), int(getattr(param, f"{name}_w"))
    if len(values) == 0:
        return default, default
    if len(values) == 1:
        return values[0], values[0]
    if len(values) == 2:
        return values[0], values[1]
    raise fail(layer, f"{field} must be specified once or twice (2-D), got {len(values)} values")


def window_view(
    x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int], out: tuple[int, int]
) -> np.ndarray:
    """A read-only view (N, C, kh, kw, oh, ow) of the (already padded) NCHW `x`: im2col without copying."""
    n, c, _, _ = x.shape
    sn, sc, sh, sw = x.strides
    shape = (n, c, kernel[0], kernel[1], out[0], out[1])
    strides = (sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1])
    return as_strided(x, shape=shape, strides=strides, writeable=False)


def tap(x: np.ndarray, i: int, j: int, stride: tuple[int, int], out: tuple[int, int]) -> np.ndarray:
    """The strided (N, C, oh, ow) view of padded `x` that kernel tap (i, j) sees (i, j already dilated)."""
    return x[:, :, i : i + stride[0] * (out[0] - 1) + 1 : stride[0], j : j + stride[1] * (out[1] - 1) + 1 : stride[1]]


def pad_hw(x: np.ndarray, top: int, bottom: int, left: int, right: int, value: float = 0.0) -> np.ndarray:
    """`x` (N, C, H, W) with the given border; negative amounts crop."""
    if top == bottom == left == right == 0:
        return x
    n, c, h, w = x.shape
    out = np.full((n, c, h + top + bottom, w + left + right), value, dtype=np.float32)
    src = x[:, :, max(0, -top) : h - max(0, -bottom), max(0, -left) : w - max(0, -right)]
    out[:, :, max(0, top) : max(0, top) + src.shape[2], max(0, left) : max(0, left) + src.shape[3]] = src
    return out


def broadcast_operand(
    layer: CaffeLayer, bottoms: list[Shape], axis: int, num_axes: int
) -> tuple[int, Shape]:
    """Where a Scale/Bias operand sits in bottom[0]: (first axis, operand shape).

    With one bottom the operand is a learned blob covering bottom[0]'s axes [axis, axis + num_axes)
    (num_axes -1: to the end); with two, it is bottom[1], whose axes must match bottom[0]'s from
    `axis` on. A scalar operand (no axes) applies everywhere.
    """
    expect_count(layer, bottoms, bottoms_n=(1, 2))
    first = bottoms[0]
    if len(bottoms) == 2:
        operand = bottoms[1]
        start = 0 if not operand else canonical_axis(layer, axis, len(first))
    else:
        start = canonical_axis(layer, axis, len(first))
        if num_axes < -1:
            raise fail(layer, f"num_axes must be non-negative, or -1 to extend to the end; got {num_axes}")
        end = len(first) if num_axes == -1 else start + num_axes
        if end > len(first):
            raise fail(layer, f"operand of {num_axes} axes from axis {start} extends past bottom {list(first)}")
        operand = first[start:end]
        start = 0 if not operand else start
    if len(first) < start + len(operand) or first[start : start + len(operand)] != operand:
        raise fail(layer, f"operand shape {list(operand)} does not match bottom {list(first)} from axis {start}")
    return start, operand


def as_broadcast(value: np.ndarray, start: int, ndim: int) -> np.ndarray:
    """`value` reshaped to broadcast against an `ndim`-D blob from axis `start` on."""
    return value.reshape((1,) * start + value.shape + (1,) * (ndim - start - value.ndim))
