"""Elu -> Elu(alpha)."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Elu


@converts(Elu)
def elu(node: Elu, ctx: Context) -> None:
    ctx.node("Elu", node.inputs, node.outputs, node.name, alpha=float(node.alpha))
