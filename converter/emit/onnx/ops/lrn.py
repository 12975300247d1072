"""Lrn.

Across channels -> ONNX LRN, whose formula is the IR's: x / (bias + alpha/size * sum of x^2 over
`size` channels centred on c (floor((size-1)/2) before, ceil after))^beta, with bias = k.
onnxruntime refuses LRN unless alpha > 0 and beta > 0, so otherwise the same formula is built up:
x^2 viewed as (N, 1, C, H*W), averaged over `size` channels with zero padding counted
(AveragePool, count_include_pad=1, so alpha * mean = alpha/size * sum), then x * (k + alpha * mean)^-beta.
Within channel -> built up likewise: x^2 averaged over a size x size window (zero padding counted,
so alpha * mean = alpha/size^2 * sum), then x * (1 + alpha * mean)^-beta. Like the source
framework's within-channel LRN (and the PyTorch emitter), `k` is not used there: the constant is 1.
"""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Lrn


def _normalise(node: Lrn, ctx: Context, mean: str, constant: float) -> None:
    """y = x * (constant + alpha * mean)^-beta, the last steps of both built-up forms."""
    x, y = node.inputs[0], node.outputs[0]
    scaled, base, factor = (ctx.tensor(f"{y}/{part}") for part in ("scaled", "base", "factor"))
    ctx.node("Mul", [mean, ctx.const(f"{node.name}.alpha", node.alpha)], [scaled], f"{node.name}/alpha")
    ctx.node("Add", [scaled, ctx.const(f"{node.name}.k", constant)], [base], f"{node.name}/k")
    ctx.node("Pow", [base, ctx.const(f"{node.name}.minus_beta", -node.beta)], [factor], f"{node.name}/beta")
    ctx.node("Mul", [x, factor], [y], node.name)


@converts(Lrn)
def lrn(node: Lrn, ctx: Context) -> None:
    x, y = node.inputs[0], node.outputs[0]
    before, after = (node.size - 1) // 2, node.size // 2
    if node.across_channels and node.alpha > 0 and node.beta > 0:
        ctx.node("LRN", [x], [y], node.name, size=int(node.size), alpha=float(node.alpha), beta=float(node.beta),
                 bias=float(node.k))
        return
    square, mean = ctx.tensor(f"{y}/square"), ctx.tensor(f"{y}/mean")
    ctx.node("Mul", [x, x], [square], f"{node.name}/square")
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
