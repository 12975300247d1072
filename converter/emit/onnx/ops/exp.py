"""Exp: exp(scale * x) * factor, the factor applied after Exp (so Exp overflows where the IR says),
each part left out when it is 1."""

from converter.emit.onnx.ops._common import affine, unary_times
from converter.emit.onnx.registry import Context, converts
from converter.ir import Exp


@converts(Exp)
def exp(node: Exp, ctx: Context) -> None:
    unary_times(node, ctx, "Exp", affine(node, ctx, node.scale, 0.0), "exp", node.factor)
