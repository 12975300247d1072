"""NearestUpsample -> Reshape (N, C, H, 1, W, 1), Expand by (sh, sw) on the new axes, Reshape to
(N, C, H * sh, W * sw): each cell repeated, exactly y[i, j] = x[i // sh, j // sw]. Reshapes copy N and
C by 0, so the batch stays symbolic, for ONNX shape inference too (Resize with computed sizes loses it)."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import NearestUpsample


@converts(NearestUpsample)
def nearest_upsample(node: NearestUpsample, ctx: Context) -> None:
    x, y, name = node.inputs[0], node.outputs[0], node.name
    h, w = ctx.shape(x)[2:]
    (sh, sw) = node.scale
    cells, repeated = ctx.tensor(f"{y}/cells"), ctx.tensor(f"{y}/repeated")
    ctx.node("Reshape", [x, ctx.ints(f"{name}.cells", [0, 0, h, 1, w, 1])], [cells], f"{name}/cells")
    ctx.node("Expand", [cells, ctx.ints(f"{name}.repeats", [1, 1, 1, sh, 1, sw])], [repeated], f"{name}/repeat")
    ctx.node("Reshape", [repeated, ctx.ints(f"{name}.shape", [0, 0, h * sh, w * sw])], [y], name)
