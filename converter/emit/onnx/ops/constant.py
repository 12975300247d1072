"""Constant -> an initializer "<name>.value", given the node's output name by an Identity."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Constant


@converts(Constant)
def constant(node: Constant, ctx: Context) -> None:
    ctx.node("Identity", [ctx.const(f"{node.name}.value", node.value)], node.outputs, node.name)
