"""Eltwise: sum -> Mul by each coefficient that is not 1, then Sum; prod -> a Mul chain; max -> Max."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Eltwise


@converts(Eltwise)
def eltwise(node: Eltwise, ctx: Context) -> None:
    y = node.outputs[0]
    if node.op == "max":
        ctx.node("Max", node.inputs, [y], node.name)
    elif node.op == "prod":
        if len(node.inputs) == 1:
            ctx.node("Identity", node.inputs, [y], node.name)
            return
        acc = node.inputs[0]
        for i, other in enumerate(node.inputs[1:], start=1):
            last = i == len(node.inputs) - 1
            out = y if last else ctx.tensor(f"{y}/prod{i}")
            ctx.node("Mul", [acc, other], [out], node.name if last else f"{node.name}/prod{i}")
            acc = out
    else:
        terms = []
        for i, x in enumerate(node.inputs):
            coeff = float(node.coeffs[i]) if node.coeffs else 1.0
            if coeff == 1.0:
                terms.append(x)
                continue
            term = ctx.tensor(f"{y}/term{i}")
            ctx.node("Mul", [x, ctx.const(f"{node.name}.coeff{i}", coeff)], [term], f"{node.name}/coeff{i}")
            terms.append(term)
        ctx.node("Sum", terms, [y], node.name)
