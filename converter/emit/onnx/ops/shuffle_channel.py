"""ShuffleChannel -> Reshape to (N, group, C / group, -1), Transpose the two channel axes, Reshape back
(the batch dim copied by 0, so it stays symbolic)."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import ShuffleChannel


@converts(ShuffleChannel)
def shuffle_channel(node: ShuffleChannel, ctx: Context) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape = ctx.shape(x)
    grouped, swapped = ctx.tensor(f"{y}/grouped"), ctx.tensor(f"{y}/swapped")
    ctx.node("Reshape", [x, ctx.ints(f"{node.name}.grouped", [0, node.group, shape[1] // node.group, -1])],
             [grouped], f"{node.name}/group")
    ctx.node("Transpose", [grouped], [swapped], f"{node.name}/swap", perm=[0, 2, 1, 3])
    ctx.node("Reshape", [swapped, ctx.ints(f"{node.name}.shape", [0, *shape[1:]])], [y], node.name)
