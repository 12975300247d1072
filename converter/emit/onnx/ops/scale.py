"""Scale: x * gamma (+ beta) as Mul (+ Add), gamma/beta shaped to broadcast from `axis`; with no
gamma the factor is the second input, reshaped likewise."""

from converter.emit.onnx.ops._common import broadcast, operand
from converter.emit.onnx.registry import Context, converts
from converter.ir import Scale


@converts(Scale)
def scale(node: Scale, ctx: Context) -> None:
    x, y = node.inputs[0], node.outputs[0]
    gamma = operand(ctx, node, node.gamma, "weight", node.axis)
    if node.beta is None:
        ctx.node("Mul", [x, gamma], [y], node.name)
        return
    scaled = ctx.tensor(f"{y}/scaled")
    ctx.node("Mul", [x, gamma], [scaled], f"{node.name}/mul")
    beta = ctx.const(f"{node.name}.bias", broadcast(node.beta, node.axis, ctx.rank(x)))
    ctx.node("Add", [scaled, beta], [y], node.name)
