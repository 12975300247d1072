"""Clip -> Clip with min and max as inputs (the form of opset 11 on)."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Clip


@converts(Clip)
def clip(node: Clip, ctx: Context) -> None:
    low, high = ctx.const(f"{node.name}.min", node.low), ctx.const(f"{node.name}.max", node.high)
    ctx.node("Clip", [node.inputs[0], low, high], node.outputs, node.name)
