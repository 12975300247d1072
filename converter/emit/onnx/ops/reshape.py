"""Reshape -> Reshape with the IR's target (already written to hold for any batch size) as an int64 input."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Reshape


@converts(Reshape)
def reshape(node: Reshape, ctx: Context) -> None:
    target = ctx.ints(f"{node.name}.shape", node.shape)
    ctx.node("Reshape", [node.inputs[0], target], node.outputs, node.name)
