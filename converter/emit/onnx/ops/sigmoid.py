"""Sigmoid -> Sigmoid."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Sigmoid


@converts(Sigmoid)
def sigmoid(node: Sigmoid, ctx: Context) -> None:
    ctx.node("Sigmoid", node.inputs, node.outputs, node.name)
