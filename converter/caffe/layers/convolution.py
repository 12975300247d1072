"""Convolution: 2-D cross-correlation with optional groups, dilation, padding and bias.

Caffe's rules: weights are (num_output, channels / group, kh, kw), bias (num_output,) when
`bias_term` (default true). Output size is `(in + 2*pad - (dilation*(k-1)+1)) / stride + 1` in C++
integer division, which truncates toward zero: a kernel overhanging the padded input by less than
the stride still gives one output (in 2, kernel 3, stride 2: (2 - 3) / 2 + 1 = 1), and im2col reads
the taps past the input as zeros. No output at all (an overhang of a stride or more) is refused.
`kernel_size`/`pad`/`stride`/`dilation` hold 0, 1 or 2 values; `kernel_h/_w`, `pad_h/_w`,
`stride_h/_w` replace them. Channels and num_output must be multiples of `group`. Several
bottoms may share one set of weights, each giving its own top.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import expect_count, fail, pad_hw, spatial_param, tap, window_view
from converter.caffe.net import CaffeLayer, Shape


@dataclass(frozen=True)
class ConvGeometry:
    channels: int
    num_output: int
    group: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int]
    dilation: tuple[int, int]
    bias: bool

    def extent(self, axis: int) -> int:
        return self.dilation[axis] * (self.kernel[axis] - 1) + 1

    def output_size(self, size: int, axis: int) -> int:
        """Caffe's output size along `axis`: C++ int division, truncating toward zero (0 or less: none)."""
        span = size + 2 * self.pad[axis] - self.extent(axis)
        return (span // self.stride[axis] if span >= 0 else -(-span // self.stride[axis])) + 1

    def end_padding(self, size: int, axis: int) -> int:
        """Zeros past the padded input that the last window reads (kernel overhanging the input)."""
        return max(0, (self.output_size(size, axis) - 1) * self.stride[axis] + self.extent(axis)
                   - (size + 2 * self.pad[axis]))


def geometry(layer: CaffeLayer, bottoms: list[Shape]) -> ConvGeometry:
    """Check a (De)Convolution layer's parameters and bottoms as BaseConvolutionLayer does."""
    expect_count(layer, bottoms, bottoms_n=(1, 1 << 30), tops_n=None)
    if len(layer.tops) != len(bottoms):
        raise fail(layer, f"{layer.type} makes one top per bottom: {len(bottoms)} bottoms, {len(layer.tops)} tops")
    if any(shape != bottoms[0] for shape in bottoms):
        raise fail(layer, f"all bottoms must have the same shape, got {[list(s) for s in bottoms]}")
    param = layer.param.convolution_param
    if param.axis not in (1, -3):
        raise fail(layer, f"only channel axis 1 is supported, got axis {param.axis}")
    if len(bottoms[0]) != 4:
        raise fail(layer, f"only 2-D convolution is supported: bottom must be 4-D (N, C, H, W), got {list(bottoms[0])}")
    kernel = spatial_param(layer, param, "kernel", 0)
    stride = spatial_param(layer, param, "stride", 1)
    pad = spatial_param(layer, param, "pad", 0)
    dilation = spatial_param(layer, param, "dilation", 1, has_hw=False)
    if min(kernel) <= 0:
        raise fail(layer, f"kernel dimensions must be nonzero, got {list(kernel)}")
    if min(stride) <= 0:
        raise fail(layer, f"stride dimensions must be nonzero, got {list(stride)}")
    if min(dilation) <= 0:
        raise fail(layer, f"dilation must be positive, got {list(dilation)}")
    channels, num_output, group = bottoms[0][1], int(param.num_output), int(param.group)
    if num_output <= 0:
        raise fail(layer, "num_output must be positive")
    if group <= 0:
        raise fail(layer, "group must be positive")
    if channels % group:
        raise fail(layer, f"number of channels ({channels}) should be a multiple of group ({group})")
    if num_output % group:
        raise fail(layer, f"num_output ({num_output}) should be a multiple of group ({group})")
    return ConvGeometry(channels, num_output, group, kernel, stride, pad, dilation, bool(param.bias_term))


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    g = geometry(layer, bottoms)
    n, _, h, w = bottoms[0]
    out = []
    for axis, size in enumerate((h, w)):
        out.append(g.output_size(size, axis))
        if out[-1] <= 0:
            padded = size + 2 * g.pad[axis]
            raise fail(layer, f"kernel extent {g.extent(axis)} exceeds the padded input size {padded} along "
                              f"{'HW'[axis]} by a stride ({g.stride[axis]}) or more: Caffe's ({padded} - "
                              f"{g.extent(axis)}) / {g.stride[axis]} + 1 gives {out[-1]} outputs")
    return [(n, g.num_output, out[0], out[1]) for _ in bottoms]


def blob_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    g = geometry(layer, bottoms)
    weight = (g.num_output, g.channels // g.group, *g.kernel)
    return [weight, (g.num_output,)] if g.bias else [weight]


# Elements of im2col columns built at once: the columns of a whole convolution can be far larger
# than its input and output (every input value copied kh*kw times), so they are built in blocks.
COLUMN_BLOCK = 1 << 24
# Above this many kernel taps a per-tap loop costs more in Python than im2col blocks do.
MAX_DEPTHWISE_TAPS = 64


def conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, g: ConvGeometry) -> np.ndarray:
    """Caffe's im2col + GEMM convolution of NCHW float32 `x`, one batched matmul over all groups."""
    n, c, h, w = x.shape
    oh, ow = g.output_size(h, 0), g.output_size(w, 1)
    weight = weight.astype(np.float32, copy=False)
    cg, mg = c // g.group, g.num_output // g.group
    if g.kernel == (1, 1) and g.stride == (1, 1) and g.pad == (0, 0):
        cols = x.reshape(n, g.group, cg, h * w)
        out = np.matmul(weight.reshape(g.group, mg, cg), cols)
    elif cg == 1 and g.kernel[0] * g.kernel[1] <= MAX_DEPTHWISE_TAPS:
        out = _depthwise(x, weight, g, (oh, ow))
    else:
        out = _im2col_blocks(_padded(x, g), weight, g, (oh, ow))
    out = out.reshape(n, g.num_output, oh, ow)
    if bias is not None:
        out += bias.astype(np.float32, copy=False).reshape(1, -1, 1, 1)
    return out


def _padded(x: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """`x` with Caffe's zero border, and the zeros an overhanging kernel reads past it (im2col's 0s)."""
    (ph, pw), (h, w) = g.pad, x.shape[2:]
    return pad_hw(x, ph, ph + g.end_padding(h, 0), pw, pw + g.end_padding(w, 1))


def _im2col_blocks(xp: np.ndarray, weight: np.ndarray, g: ConvGeometry, out: tuple[int, int]) -> np.ndarray:
    """The GEMM over im2col columns, built for whole images when they fit COLUMN_BLOCK, else for
    bands of output rows, so the columns never take more memory than that."""
    n, c = xp.shape[:2]
    (oh, ow), (kh, kw), (sh, _) = out, g.kernel, g.stride
    taps = c * kh * kw
    w = weight.reshape(g.group, g.num_output // g.group, -1)
    result = np.empty((n, g.group, g.num_output // g.group, oh * ow), np.float32)
    images = max(1, COLUMN_BLOCK // (taps * oh * ow))
    rows = oh if images > 1 else max(1, min(oh, COLUMN_BLOCK // (taps * ow)))
    for first in range(0, n, images):
        last = min(n, first + images)
        for top in range(0, oh, rows):
            bottom = min(oh, top + rows)
            band = xp[first:last, :, top * sh : (bottom - 1) * sh + g.extent(0)]
            view = window_view(band, g.kernel, g.stride, g.dilation, (bottom - top, ow))
            cols = view.reshape(last - first, g.group, taps // g.group, (bottom - top) * ow)
            result[first:last, :, :, top * ow : bottom * ow] = np.matmul(w, cols)
    return result


def _depthwise(x: np.ndarray, weight: np.ndarray, g: ConvGeometry, out: tuple[int, int]) -> np.ndarray:
    """One input channel per group: a multiply-add per kernel tap instead of tiny per-group GEMMs."""
    multiplier = g.num_output // g.group
    xp = _padded(x, g)
    # Output channel o reads input channel o // multiplier: broadcast over a multiplier axis.
    taps = weight.reshape(1, g.group, multiplier, *g.kernel)
    acc = np.zeros((x.shape[0], g.group, multiplier, *out), dtype=np.float32)
    scratch = np.empty_like(acc)
    for i in range(g.kernel[0]):
        for j in range(g.kernel[1]):
            view = tap(xp, i * g.dilation[0], j * g.dilation[1], g.stride, out)
            np.multiply(view[:, :, None], taps[:, :, :, i, j, None, None], out=scratch)
            acc += scratch
    return acc


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    g = geometry(layer, [tuple(x.shape) for x in inputs])
    weight = layer.blobs[0]
    bias = layer.blobs[1] if g.bias else None
    return [conv2d(np.asarray(x, dtype=np.float32), weight, bias, g) for x in inputs]


register("Convolution", output_shapes=output_shapes, forward=forward, blob_shapes=blob_shapes)
