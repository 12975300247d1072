"""Fire -> Conv+Relu (squeeze), Conv+Relu (expand 1x1), Conv+Relu (expand 3x3), Concat on channels.

Parts are named after the sub-convolutions ("fire2/squeeze1x1", "fire2/squeeze1x1/relu", ...);
internal tensors take the sub-convolutions' output names, made unique against the graph's.
"""

from converter.emit.onnx.ops._common import conv_like
from converter.emit.onnx.registry import Context, converts
from converter.ir import Conv, Fire


def _conv_relu(part: Conv, source: str, ctx: Context) -> str:
    activated = ctx.tensor(part.outputs[0])
    raw = ctx.tensor(f"{part.outputs[0]}/conv")
    conv_like("Conv", part, ctx, source, raw, part.name)
    ctx.node("Relu", [raw], [activated], f"{part.name}/relu")
    return activated


@converts(Fire)
def fire(node: Fire, ctx: Context) -> None:
    squeezed = _conv_relu(node.squeeze, node.inputs[0], ctx)
    e1 = _conv_relu(node.expand1x1, squeezed, ctx)
    e3 = _conv_relu(node.expand3x3, squeezed, ctx)
    ctx.node("Concat", [e1, e3], node.outputs, f"{node.name}/concat", axis=1)
