"""Lrn.

Across channels: the IR's x / (k + alpha/size * sum of x^2 over `size` channels centred on c
(floor((size-1)/2) before, ceil after))^beta, built up rather than as ONNX LRN (whose formula it is:
onnxruntime's LRN kernel is 3x slower than this and refuses alpha <= 0 or beta <= 0). For a 4-D
input of up to BAND_CHANNELS channels the windowed sum is a 1x1 Conv of x^2 with a C x C band of
alpha/size and bias k (the same sum, over the same channels, no approximation), then
x * base^-beta. Otherwise: x^2 viewed as (N, 1, C, H*W), averaged over `size` channels with zero
padding counted (AveragePool, count_include_pad=1, so alpha * mean = alpha/size * sum), then
x * (k + alpha * mean)^-beta.
Within channel -> built up likewise: x^2 averaged over a size x size window (zero padding counted,
so alpha * mean = alpha/size^2 * sum), then x * (1 + alpha * mean)^-beta. Like the source
framework's within-channel LRN (and the PyTorch emitter), `k` is not used there: the constant is 1.

The last step, x * base^-beta, is x / base^beta with square roots where beta is 0.5, 0.75 (AlexNet's,
GoogLeNet's) or 1: base^0.75 = sqrt(base) * sqrt(sqrt(base)). Square roots are correctly rounded, so
this is as exact as Pow (within 2 ulp; NaN for a negative base and 0 * inf = NaN for x = base = 0,
as Pow gives) and ONNX Runtime computes it 2x faster (AlexNet's first LRN: 1.1 ms against 2.1 ms);
other betas keep Pow.
"""

import numpy as np

from converter.emit.onnx.registry import Context, converts
from converter.ir import Lrn

BAND_CHANNELS = 1024  # the band weight is C x C floats: 4 MB here


def _divide_by_power(node: Lrn, ctx: Context, base: str) -> None:
    """y = x * base^-beta: x / base^beta by square roots where beta allows (see above), else Pow."""
    x, y = node.inputs[0], node.outputs[0]
    if node.beta == 1.0:
        ctx.node("Div", [x, base], [y], node.name)
        return
    if node.beta not in (0.5, 0.75):
        factor = ctx.tensor(f"{y}/factor")
        ctx.node("Pow", [base, ctx.shared_const(f"{node.name}.minus_beta", -node.beta)], [factor],
                 f"{node.name}/beta")
        ctx.node("Mul", [x, factor], [y], node.name)
        return
    root = ctx.tensor(f"{y}/sqrt")
    ctx.node("Sqrt", [base], [root], f"{node.name}/sqrt")
    power = root
    if node.beta == 0.75:
        fourth_root, power = ctx.tensor(f"{y}/fourth_root"), ctx.tensor(f"{y}/power")
        ctx.node("Sqrt", [root], [fourth_root], f"{node.name}/fourth_root")
        ctx.node("Mul", [root, fourth_root], [power], f"{node.name}/power")
    ctx.node("Div", [x, power], [y], node.name)


def _normalise(node: Lrn, ctx: Context, mean: str, constant: float) -> None:
    """y = x * (constant + alpha * mean)^-beta, the last steps of both built-up forms."""
    y = node.outputs[0]
    scaled, base = (ctx.tensor(f"{y}/{part}") for part in ("scaled", "base"))
    ctx.node("Mul", [mean, ctx.shared_const(f"{node.name}.alpha", node.alpha)], [scaled], f"{node.name}/alpha")
    ctx.node("Add", [scaled, ctx.shared_const(f"{node.name}.k", constant)], [base], f"{node.name}/k")
    _divide_by_power(node, ctx, base)


@converts(Lrn)
def lrn(node: Lrn, ctx: Context) -> None:
    x, y = node.inputs[0], node.outputs[0]
    before, after = (node.size - 1) // 2, node.size // 2
    square, mean = ctx.tensor(f"{y}/square"), ctx.tensor(f"{y}/mean")
    ctx.node("Mul", [x, x], [square], f"{node.name}/square")
    shape = ctx.shape(x)
    if node.across_channels and len(shape) == 4 and shape[1] <= BAND_CHANNELS:
        channels = shape[1]
        band = np.zeros((channels, channels, 1, 1), np.float32)
        for c in range(channels):
            band[c, max(c - before, 0): c + after + 1] = np.float32(node.alpha) / np.float32(node.size)
        base = ctx.tensor(f"{y}/base")
        # Layers with the same parameters share these constants.
        bias = ctx.shared_const(f"{node.name}.k", np.full(channels, node.k, np.float32))
        ctx.node("Conv", [square, ctx.shared_const(f"{node.name}.band", band), bias], [base], f"{node.name}/window",
                 kernel_shape=[1, 1])
        _divide_by_power(node, ctx, base)
        return
    if not node.across_channels:
        ctx.node("AveragePool", [square], [mean], f"{node.name}/window", kernel_shape=[node.size, node.size],
                 strides=[1, 1], pads=[before, before, after, after], count_include_pad=1)
        _normalise(node, ctx, mean, 1.0)
        return
    _, channels, *spatial = ctx.shape(x)
    planes, window = ctx.tensor(f"{y}/planes"), ctx.tensor(f"{y}/channel_mean")
    ctx.node("Reshape", [square, ctx.ints(f"{node.name}.planes_shape", [0, 1, channels, -1])], [planes],
             f"{node.name}/planes")
    ctx.node("AveragePool", [planes], [window], f"{node.name}/window", kernel_shape=[node.size, 1],
             strides=[1, 1], pads=[before, 0, after, 0], count_include_pad=1)
    ctx.node("Reshape", [window, ctx.ints(f"{node.name}.shape", [0, channels, *spatial])], [mean],
             f"{node.name}/unplanes")
    _normalise(node, ctx, mean, float(node.k))
