"""Tanh -> Tanh."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Tanh


@converts(Tanh)
def tanh(node: Tanh, ctx: Context) -> None:
    ctx.node("Tanh", node.inputs, node.outputs, node.name)
