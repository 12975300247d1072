"""Transpose -> Transpose(perm)."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Transpose


@converts(Transpose)
def transpose(node: Transpose, ctx: Context) -> None:
    ctx.node("Transpose", node.inputs, node.outputs, node.name, perm=list(node.perm))
