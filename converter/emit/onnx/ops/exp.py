"""Exp: base ** (shift + scale*x) in Caffe's order, exp(ln(base)*scale * x) * base**shift: the outer
factor is applied after Exp (so Exp overflows where Caffe's does), each part left out when it is 1."""

import numpy as np

from converter.emit.onnx.ops._common import affine
from converter.emit.onnx.registry import Context, converts
from converter.ir import Exp


@converts(Exp)
def exp(node: Exp, ctx: Context) -> None:
    # float32 arithmetic throughout, as the source framework computes these two factors.
    base, shift = np.float32(node.base or 0), np.float32(node.shift)
    ln_base = np.float32(1) if node.base is None else np.log(base)
    inner = float(ln_base * np.float32(node.scale))
    outer = 1.0 if shift == 0 else float(np.exp(shift) if node.base is None else np.power(base, shift))
    x = affine(node, ctx, inner, 0.0)
    if outer == 1.0:
        ctx.node("Exp", [x], node.outputs, node.name)
        return
    raised = ctx.tensor(f"{node.outputs[0]}/exp")
    ctx.node("Exp", [x], [raised], f"{node.name}/exp")
    ctx.node("Mul", [raised, ctx.const(f"{node.name}.outer", outer)], node.outputs, node.name)
