"""Axpy -> Mul(a, x) then Add(y); a (N, C) of lower rank first gets trailing 1s by Reshape (its own
dims copied by 0, so the batch stays symbolic)."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Axpy


@converts(Axpy)
def axpy(node: Axpy, ctx: Context) -> None:
    a, x, y = node.inputs
    out = node.outputs[0]
    rank, own = ctx.rank(x), ctx.rank(a)
    if own < rank:
        shaped = ctx.tensor(f"{a}/{node.name}")
        ctx.node("Reshape", [a, ctx.ints(f"{node.name}.factor_shape", [0] * own + [1] * (rank - own))], [shaped],
                 f"{node.name}/factor_shape")
        a = shaped
    scaled = ctx.tensor(f"{out}/scaled")
    ctx.node("Mul", [a, x], [scaled], f"{node.name}/scale")
    ctx.node("Add", [scaled, y], [out], node.name)
