"""Softmax -> Softmax(axis); from opset 13 ONNX normalises over that single axis, as the IR does."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Softmax


@converts(Softmax)
def softmax(node: Softmax, ctx: Context) -> None:
    ctx.node("Softmax", node.inputs, node.outputs, node.name, axis=node.axis)
