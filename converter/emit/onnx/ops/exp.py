"""Exp: exp(scale * x) * factor, the factor applied after Exp (so Exp overflows where the IR says),
each part left out when it is 1."""

from converter.emit.onnx.ops._common import affine
from converter.emit.onnx.registry import Context, converts
from converter.ir import Exp


@converts(Exp)
def exp(node: Exp, ctx: Context) -> None:
    x = affine(node, ctx, node.scale, 0.0)
    if node.factor == 1.0:
        ctx.node("Exp", [x], node.outputs, node.name)
        return
    raised = ctx.tensor(f"{node.outputs[0]}/exp")
    ctx.node("Exp", [x], [raised], f"{node.name}/exp")
    ctx.node("Mul", [raised, ctx.const(f"{node.name}.factor", node.factor)], node.outputs, node.name)
