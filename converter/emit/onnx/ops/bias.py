"""Bias: x + beta as Add, beta (or the second input) shaped to broadcast from `axis`."""

from converter.emit.onnx.ops._common import operand
from converter.emit.onnx.registry import Context, converts
from converter.ir import Bias


@converts(Bias)
def bias(node: Bias, ctx: Context) -> None:
    ctx.node("Add", [node.inputs[0], operand(ctx, node, node.beta, "bias", node.axis)], node.outputs, node.name)
