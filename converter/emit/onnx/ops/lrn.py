"""Lrn.

Across channels -> ONNX LRN, whose formula is the IR's: x / (bias + alpha/size * sum of x^2 over
`size` channels centred on c (floor((size-1)/2) before, ceil after))^beta, with bias = k.
Within channel -> built up: x^2 (Mul), the mean over a size x size window with zero padding counted
(AveragePool, stride 1, count_include_pad=1, so alpha * mean = alpha/size^2 * sum), then
x / (1 + alpha * mean)^beta. Like the source framework's within-channel LRN (and the PyTorch
emitter), `k` is not used there: the constant term is 1.
"""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Lrn


@converts(Lrn)
def lrn(node: Lrn, ctx: Context) -> None:
    x, y = node.inputs[0], node.outputs[0]
    if node.across_channels:
        ctx.node("LRN", [x], [y], node.name, size=int(node.size), alpha=float(node.alpha), beta=float(node.beta),
                 bias=float(node.k))
        return
    before, after = (node.size - 1) // 2, node.size // 2
    square, mean, scaled, base, denom = (ctx.tensor(f"{y}/{part}") for part in
                                         ("square", "mean", "scaled", "base", "denom"))
    ctx.node("Mul", [x, x], [square], f"{node.name}/square")
    ctx.node("AveragePool", [square], [mean], f"{node.name}/window", kernel_shape=[node.size, node.size],
             strides=[1, 1], pads=[before, before, after, after], count_include_pad=1)
    ctx.node("Mul", [mean, ctx.const(f"{node.name}.alpha", node.alpha)], [scaled], f"{node.name}/alpha")
    ctx.node("Add", [scaled, ctx.const(f"{node.name}.one", 1.0)], [base], f"{node.name}/one")
    ctx.node("Pow", [base, ctx.const(f"{node.name}.beta", node.beta)], [denom], f"{node.name}/beta")
    ctx.node("Div", [x, denom], [y], node.name)
