"""BatchNorm: (x - mean) / sqrt(var + eps) as BatchNormalization with scale 1 and bias 0."""

import numpy as np

from converter.emit.onnx.registry import Context, converts
from converter.ir import BatchNorm


@converts(BatchNorm)
def batch_norm(node: BatchNorm, ctx: Context) -> None:
    channels = int(np.asarray(node.mean).size)
    inputs = [
        node.inputs[0],
        ctx.const(f"{node.name}.scale", np.ones(channels)),
        ctx.const(f"{node.name}.bias", np.zeros(channels)),
        ctx.const(f"{node.name}.mean", np.asarray(node.mean).reshape(-1)),
        ctx.const(f"{node.name}.var", np.asarray(node.var).reshape(-1)),
    ]
    ctx.node("BatchNormalization", inputs, node.outputs, node.name, epsilon=float(node.eps))
