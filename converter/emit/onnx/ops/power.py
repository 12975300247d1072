"""Power: (shift + scale*x) ** power as Mul, Add, Pow, each left out when it is the identity."""

from converter.emit.onnx.ops._common import affine
from converter.emit.onnx.registry import Context, converts
from converter.ir import Power


@converts(Power)
def power(node: Power, ctx: Context) -> None:
    if node.power == 1:
        affine(node, ctx, node.scale, node.shift, final=True)
        return
    base = affine(node, ctx, node.scale, node.shift)
    ctx.node("Pow", [base, ctx.const(f"{node.name}.power", node.power)], node.outputs, node.name)
