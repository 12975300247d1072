"""Exp: base ** (shift + scale*x) = exp(ln(base)*shift + ln(base)*scale*x)."""

import math

from converter.emit.onnx.ops._common import affine
from converter.emit.onnx.registry import Context, converts
from converter.ir import Exp


@converts(Exp)
def exp(node: Exp, ctx: Context) -> None:
    ln_base = 1.0 if node.base is None else math.log(node.base)
    x = affine(node, ctx, node.scale * ln_base, node.shift * ln_base)
    ctx.node("Exp", [x], node.outputs, node.name)
