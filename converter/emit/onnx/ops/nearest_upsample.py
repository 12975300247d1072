"""NearestUpsample -> Resize (nearest, asymmetric coordinates, floor): output cell i reads input
cell floor(i / scale), the IR's i // scale for integer scales."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import NearestUpsample


@converts(NearestUpsample)
def nearest_upsample(node: NearestUpsample, ctx: Context) -> None:
    scales = ctx.const(f"{node.name}.scales", [1.0, 1.0, float(node.scale[0]), float(node.scale[1])])
    ctx.node("Resize", [node.inputs[0], "", scales], node.outputs, node.name, mode="nearest",
             coordinate_transformation_mode="asymmetric", nearest_mode="floor")
