"""Log: ln(scale * x + shift) * factor, each part left out when it is an identity."""

from converter.emit.onnx.ops._common import affine
from converter.emit.onnx.registry import Context, converts
from converter.ir import Log


@converts(Log)
def log(node: Log, ctx: Context) -> None:
    x = affine(node, ctx, node.scale, node.shift)
    if node.factor == 1.0:
        ctx.node("Log", [x], node.outputs, node.name)
        return
    ln = ctx.tensor(f"{node.outputs[0]}/ln")
    ctx.node("Log", [x], [ln], f"{node.name}/ln")
    ctx.node("Mul", [ln, ctx.const(f"{node.name}.factor", node.factor)], node.outputs, node.name)
