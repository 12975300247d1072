"""Conv -> ONNX Conv (pads `pad` at the start, `pad + extra_end` at the end; dilations, group)."""

from converter.emit.onnx.ops._common import conv_like
from converter.emit.onnx.registry import Context, converts
from converter.ir import Conv


@converts(Conv)
def conv(node: Conv, ctx: Context) -> None:
    conv_like("Conv", node, ctx, node.inputs, node.outputs, node.name)
