"""Normalize -> x^2 summed (ReduceSum over dims 1.. across space, else dim 1), + eps, Sqrt; across
space x * Reciprocal(norm), else x / norm; then Mul by the scale, shaped (C, 1, ...) per channel."""

import numpy as np

from converter.emit.onnx.registry import Context, converts
from converter.ir import Normalize


@converts(Normalize)
def normalize(node: Normalize, ctx: Context) -> None:
    x, y = node.inputs[0], node.outputs[0]
    rank = ctx.rank(x)
    square, total, shifted, norm, normalised = (ctx.tensor(f"{y}/{part}") for part in
                                                ("square", "sum", "eps", "norm", "normalised"))
    axes = list(range(1, rank)) if node.across_spatial else [1]
    ctx.node("Mul", [x, x], [square], f"{node.name}/square")
    ctx.node("ReduceSum", [square, ctx.ints(f"{node.name}.axes", axes)], [total], f"{node.name}/sum", keepdims=1)
    ctx.node("Add", [total, ctx.const(f"{node.name}.eps", node.eps)], [shifted], f"{node.name}/eps")
    ctx.node("Sqrt", [shifted], [norm], f"{node.name}/sqrt")
    if node.across_spatial:
        inverse = ctx.tensor(f"{y}/inverse")
        ctx.node("Reciprocal", [norm], [inverse], f"{node.name}/inverse")
        ctx.node("Mul", [x, inverse], [normalised], f"{node.name}/normalise")
    else:
        ctx.node("Div", [x, norm], [normalised], f"{node.name}/normalise")
    scale = node.scale.reshape(()) if node.scale.size == 1 and node.scale.ndim == 0 else \
        node.scale.reshape(-1, *([1] * (rank - 2)))
    ctx.node("Mul", [normalised, ctx.const(f"{node.name}.scale", np.asarray(scale))], [y], node.name)
