"""Dense: y = flatten(x, axis) @ weight.T + bias as Gemm(transB=1); a Flatten first unless x is
already (batch, K), and a Reshape after (batch symbolic) when axis != 1."""

from converter.emit.onnx.registry import Context, converts
from converter.ir import Dense


@converts(Dense)
def dense(node: Dense, ctx: Context) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape = ctx.shape(x)
    axis = node.axis % len(shape) if shape else 0
    flat = x
    if not (len(shape) == 2 and axis == 1):
        flat = ctx.tensor(f"{y}/flat")
        ctx.node("Flatten", [x], [flat], f"{node.name}/flatten", axis=axis)
    inputs = [flat, ctx.const(f"{node.name}.weight", node.weight)]
    if node.bias is not None:
        inputs.append(ctx.const(f"{node.name}.bias", node.bias))
    if axis == 1:
        ctx.node("Gemm", inputs, [y], node.name, transB=1)
        return
    product = ctx.tensor(f"{y}/gemm")
    ctx.node("Gemm", inputs, [product], f"{node.name}/gemm", transB=1)
    target = [-1, *ctx.shape(y)[1:]]
    ctx.node("Reshape", [product, ctx.ints(f"{node.name}.shape", target)], [y], node.name)
