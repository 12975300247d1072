"""Log: log_base(shift + scale*x) = ln(shift + scale*x) / ln(base)."""

import math

from converter.emit.onnx.ops._common import affine
from converter.emit.onnx.registry import Context, converts
from converter.ir import Log


@converts(Log)
def log(node: Log, ctx: Context) -> None:
    x = affine(node, ctx, node.scale, node.shift)
    if node.base is None:
        ctx.node("Log", [x], node.outputs, node.name)
        return
    ln = ctx.tensor(f"{node.outputs[0]}/ln")
    ctx.node("Log", [x], [ln], f"{node.name}/ln")
    ctx.node("Mul", [ln, ctx.const(f"{node.name}.inv_ln_base", 1.0 / math.log(node.base))], node.outputs, node.name)
