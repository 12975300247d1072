"""Concat -> Concat(axis)."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Concat


@converts(Concat)
def concat(node: Concat, ctx: Context) -> None:
    ctx.node("Concat", node.inputs, node.outputs, node.name, axis=node.axis)
