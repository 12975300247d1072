"""Crop -> Slice over the axes from `axis` on (starts = offsets, ends = offsets + sizes)."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Crop


@converts(Crop)
def crop(node: Crop, ctx: Context) -> None:
    axes = [node.axis + i for i in range(len(node.offsets))]
    ends = [o + s for o, s in zip(node.offsets, node.sizes, strict=True)]
    ctx.node("Slice", [node.inputs[0], ctx.ints(f"{node.name}.starts", node.offsets),
                       ctx.ints(f"{node.name}.ends", ends), ctx.ints(f"{node.name}.axes", axes)],
             node.outputs, node.name)
