"""BatchNorm. Stored statistics: (x - mean) / sqrt(var + eps) as BatchNormalization with scale 1 and
bias 0. Batch statistics: basic ops in the IR's order, each reduction over every dim but 1
(rather than BatchNormalization's training mode, whose variance convention and running-statistics
updates the reader would have to look up):
    mean = ReduceMean(x), centred = x - mean, var = ReduceMean(centred * centred),
    y = centred / Sqrt(var + eps)
"""

import numpy as np

from converter.emit.onnx.ops._common import reduce_mean
from converter.emit.onnx.registry import Context, converts
from converter.ir import BatchNorm


def _batch_statistics(node: BatchNorm, ctx: Context) -> None:
    x, y = node.inputs[0], node.outputs[0]
    rank = ctx.rank(x)
    axes = [0, *range(2, rank)]
    mean, centred, square, var, shifted, std = (ctx.tensor(f"{y}/{part}") for part in
                                                ("mean", "centred", "square", "var", "var_eps", "std"))
    reduce_mean(ctx, x, axes, mean, f"{node.name}/mean")
    ctx.node("Sub", [x, mean], [centred], f"{node.name}/centre")
    ctx.node("Mul", [centred, centred], [square], f"{node.name}/square")
    reduce_mean(ctx, square, axes, var, f"{node.name}/var")
    ctx.node("Add", [var, ctx.const(f"{node.name}.eps", node.eps)], [shifted], f"{node.name}/eps")
    ctx.node("Sqrt", [shifted], [std], f"{node.name}/sqrt")
    ctx.node("Div", [centred, std], [y], node.name)


@converts(BatchNorm)
def batch_norm(node: BatchNorm, ctx: Context) -> None:
    if node.batch_statistics or node.mean is None or node.var is None:
        _batch_statistics(node, ctx)
        return
    channels = int(np.asarray(node.mean).size)
    inputs = [
        node.inputs[0],
        ctx.const(f"{node.name}.scale", np.ones(channels)),
        ctx.const(f"{node.name}.bias", np.zeros(channels)),
        ctx.const(f"{node.name}.mean", np.asarray(node.mean).reshape(-1)),
        ctx.const(f"{node.name}.var", np.asarray(node.var).reshape(-1)),
    ]
    ctx.node("BatchNormalization", inputs, node.outputs, node.name, epsilon=float(node.eps))
