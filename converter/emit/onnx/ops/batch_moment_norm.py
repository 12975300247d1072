"""BatchMomentNorm: basic ops in the IR's order, each reduction over every dim but 1:
    m1 = ReduceMean(x), m2 = ReduceMean(x * x), var = m2 - m1 * m1,
    y = (x - m1) / Sqrt(var + eps) * gamma + beta
(gamma and beta as (C, 1, ...) constants broadcasting from dim 1)."""

from converter.emit.onnx.ops._common import broadcast, reduce_mean
from converter.emit.onnx.registry import Context, converts
from converter.ir import BatchMomentNorm


@converts(BatchMomentNorm)
def batch_moment_norm(node: BatchMomentNorm, ctx: Context) -> None:
    x, y = node.inputs[0], node.outputs[0]
    rank = ctx.rank(x)
    axes = [0, *range(2, rank)]
    m1, square, m2, m1_squared, var, shifted, std, centred, normalised, scaled = (
        ctx.tensor(f"{y}/{part}") for part in ("m1", "square", "m2", "m1_squared", "var", "var_eps", "std",
                                               "centred", "normalised", "scaled"))
    reduce_mean(ctx, x, axes, m1, f"{node.name}/m1")
    ctx.node("Mul", [x, x], [square], f"{node.name}/square")
    reduce_mean(ctx, square, axes, m2, f"{node.name}/m2")
    ctx.node("Mul", [m1, m1], [m1_squared], f"{node.name}/m1_squared")
    ctx.node("Sub", [m2, m1_squared], [var], f"{node.name}/var")
    ctx.node("Add", [var, ctx.const(f"{node.name}.eps", node.eps)], [shifted], f"{node.name}/eps")
    ctx.node("Sqrt", [shifted], [std], f"{node.name}/sqrt")
    ctx.node("Sub", [x, m1], [centred], f"{node.name}/centre")
    ctx.node("Div", [centred, std], [normalised], f"{node.name}/normalise")
    gamma = ctx.const(f"{node.name}.weight", broadcast(node.gamma, 1, rank))
    ctx.node("Mul", [normalised, gamma], [scaled], f"{node.name}/scale")
    ctx.node("Add", [scaled, ctx.const(f"{node.name}.bias", broadcast(node.beta, 1, rank))], [y], node.name)
