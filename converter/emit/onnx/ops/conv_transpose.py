"""ConvTranspose -> ONNX ConvTranspose (same weight layout (in, out/group, kh, kw))."""

from converter.emit.onnx.ops._common import conv_like
from converter.emit.onnx.registry import Context, converts
from converter.ir import ConvTranspose


@converts(ConvTranspose)
def conv_transpose(node: ConvTranspose, ctx: Context) -> None:
    conv_like("ConvTranspose", node, ctx, node.inputs, node.outputs, node.name)
