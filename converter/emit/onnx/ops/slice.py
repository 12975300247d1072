"""Slice -> Split along `axis` with the sizes as an int64 input (the form of opset 13 on)."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Slice


@converts(Slice)
def slice_(node: Slice, ctx: Context) -> None:
    sizes = ctx.ints(f"{node.name}.split", node.sizes)
    ctx.node("Split", [node.inputs[0], sizes], node.outputs, node.name, axis=node.axis)
