"""Deconvolution: the transpose of Convolution (Caffe runs convolution's backward pass forwards).

Same parameters as Convolution, but weights are (channels, num_output / group, kh, kw) and the
output size is `stride * (in - 1) + dilation * (kernel - 1) + 1 - 2 * pad`: every input pixel
scatters a kernel-sized patch into the output (col2im), and `pad` crops the border. Convolution's
truncating division has no counterpart here: col2im's own (out + 2*pad - extent) / stride is exact.
"""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import fail
from converter.caffe.layers.convolution import ConvGeometry, geometry
from converter.caffe.net import CaffeLayer, Shape


def _out(g: ConvGeometry, size: int, axis: int) -> int:
    return g.stride[axis] * (size - 1) + g.extent(axis) - 2 * g.pad[axis]


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    g = geometry(layer, bottoms)
    n, _, h, w = bottoms[0]
    out = (_out(g, h, 0), _out(g, w, 1))
    if min(out) <= 0:
        raise fail(layer, f"pad {list(g.pad)} leaves no output from a {h}x{w} input (size {list(out)})")
    return [(n, g.num_output, *out) for _ in bottoms]


def blob_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    g = geometry(layer, bottoms)
    weight = (g.channels, g.num_output // g.group, *g.kernel)
    return [weight, (g.num_output,)] if g.bias else [weight]


def deconv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, g: ConvGeometry) -> np.ndarray:
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw), (ph, pw) = g.kernel, g.stride, g.dilation, g.pad
    cg, mg = c // g.group, g.num_output // g.group
    w_t = np.asarray(weight, np.float32).reshape(g.group, cg, mg * kh * kw).transpose(0, 2, 1)
    canvas = np.zeros((n, g.num_output, sh * (h - 1) + g.extent(0), sw * (w - 1) + g.extent(1)), np.float32)
    for b in range(n):  # the columns of one image at a time: kh*kw times its output channels
        # cols[group, (m, i, j), pixel] = sum over the group's input channels of W[c, m, i, j] * x[b, c, pixel]
        cols = np.matmul(w_t, x[b].reshape(g.group, cg, h * w)).reshape(g.num_output, kh, kw, h, w)
        if kh * kw <= h * w:
            for i in range(kh):
                for j in range(kw):
                    canvas[b, :, i * dh : i * dh + sh * (h - 1) + 1 : sh, j * dw : j * dw + sw * (w - 1) + 1 : sw] += \
                        cols[:, i, j]
        else:  # few input pixels under a large kernel: one step per pixel, not per tap
            for y in range(h):
                for z in range(w):
                    canvas[b, :, y * sh : y * sh + g.extent(0) : dh, z * sw : z * sw + g.extent(1) : dw] += \
                        cols[:, :, :, y, z]
    out = canvas[:, :, ph : canvas.shape[2] - ph, pw : canvas.shape[3] - pw]
    if bias is not None:
        out = out + np.asarray(bias, np.float32).reshape(1, -1, 1, 1)
    return np.ascontiguousarray(out, dtype=np.float32)


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    g = geometry(layer, [tuple(x.shape) for x in inputs])
    bias = layer.blobs[1] if g.bias else None
    return [deconv2d(np.asarray(x, np.float32), layer.blobs[0], bias, g) for x in inputs]


register("Deconvolution", output_shapes=output_shapes, forward=forward, blob_shapes=blob_shapes)
