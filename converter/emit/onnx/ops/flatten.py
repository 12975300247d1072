"""Flatten: ONNX Flatten(axis=1) when merging dims 1..last (its 2-D result is then the IR's);
otherwise Reshape to [0]*axis + [-1] + the trailing dims, so the batch dim stays symbolic."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Flatten


@converts(Flatten)
def flatten(node: Flatten, ctx: Context) -> None:
    x = node.inputs[0]
    shape = ctx.shape(x)
    rank = len(shape)
    axis, end = node.axis % rank, node.end_axis % rank
    if axis == 1 and end == rank - 1:
        ctx.node("Flatten", [x], node.outputs, node.name, axis=1)
        return
    target = [0] * axis + [-1] + list(shape[end + 1 :])
    ctx.node("Reshape", [x, ctx.ints(f"{node.name}.shape", target)], node.outputs, node.name)
