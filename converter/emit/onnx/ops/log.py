"""Log: ln(scale * x + shift) * factor, each part left out when it is an identity."""

from converter.emit.onnx.ops._common import affine, unary_times
from converter.emit.onnx.registry import Context, converts
from converter.ir import Log


@converts(Log)
def log(node: Log, ctx: Context) -> None:
    unary_times(node, ctx, "Log", affine(node, ctx, node.scale, node.shift), "ln", node.factor)
