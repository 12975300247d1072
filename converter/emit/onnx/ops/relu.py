"""Relu -> Relu, or LeakyRelu(alpha=negative_slope) when the slope is nonzero."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Relu


@converts(Relu)
def relu(node: Relu, ctx: Context) -> None:
    if node.negative_slope:
        ctx.node("LeakyRelu", node.inputs, node.outputs, node.name, alpha=float(node.negative_slope))
    else:
        ctx.node("Relu", node.inputs, node.outputs, node.name)
