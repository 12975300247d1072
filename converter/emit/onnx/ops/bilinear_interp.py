"""BilinearInterp -> Slice (the crop, when there is one), then Resize (linear, align_corners) to
sizes (N, C, oh, ow): N and C read from the input's Shape so the batch stays symbolic. ONNX's
align_corners maps output i to input i * (h - 1) / (oh - 1), the IR's corner-aligned ratio."""

from converter.emit.onnx.ops._common import resize_sizes
from converter.emit.onnx.registry import Context, converts
from converter.ir import BilinearInterp


@converts(BilinearInterp)
def bilinear_interp(node: BilinearInterp, ctx: Context) -> None:
    x, y, name = node.inputs[0], node.outputs[0], node.name
    if node.crop_begin or node.crop_end:
        h, w = ctx.shape(x)[2:]
        cropped = ctx.tensor(f"{y}/cropped")
        ctx.node("Slice", [x, ctx.ints(f"{name}.starts", [node.crop_begin] * 2),
                           ctx.ints(f"{name}.ends", [h - node.crop_end, w - node.crop_end]),
                           ctx.ints(f"{name}.axes", [2, 3])], [cropped], f"{name}/crop")
        x = cropped
    ctx.node("Resize", [x, "", "", resize_sizes(ctx, x, node.size, name)], [y], name, mode="linear",
             coordinate_transformation_mode="align_corners")
