"""Identity -> one Identity per output ("<name>/<output>" when there are several)."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Identity


@converts(Identity)
def identity(node: Identity, ctx: Context) -> None:
    for out in node.outputs:
        ctx.node("Identity", node.inputs[:1], [out], node.name if len(node.outputs) == 1 else f"{node.name}/{out}")
