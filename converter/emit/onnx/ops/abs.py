"""Abs -> Abs."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Abs


@converts(Abs)
def abs_(node: Abs, ctx: Context) -> None:
    ctx.node("Abs", node.inputs, node.outputs, node.name)
