"""PRelu -> PRelu with the slope shaped (C, 1, ...) to broadcast on channels, or (1,) when shared."""

import numpy as np

from converter.emit.onnx.registry import Context, converts
from converter.ir import PRelu


@converts(PRelu)
def prelu(node: PRelu, ctx: Context) -> None:
    slope = np.asarray(node.slope).reshape(-1)
    rank = ctx.rank(node.inputs[0])
    if slope.size > 1:
        if rank < 2:
            raise ValueError(f"{node.name}: per-channel slope needs a channel axis, input is {rank}-D")
        slope = slope.reshape(slope.size, *(1,) * (rank - 2))
    ctx.node("PRelu", [node.inputs[0], ctx.const(f"{node.name}.slope", slope)], node.outputs, node.name)
