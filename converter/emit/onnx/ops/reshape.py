"""Reshape with a target that holds for any batch size.

When the batch dim is kept (output dim 0 == input dim 0) the target is [0, *output dims 1..]; when
it is merged into dim 0 the target is [-1, *output dims 1..]; otherwise the IR's shape as given.
"""

import math

from converter.emit.onnx.registry import Context, converts
from converter.ir import Reshape


@converts(Reshape)
def reshape(node: Reshape, ctx: Context) -> None:
    x, y = node.inputs[0], node.outputs[0]
    before, after = ctx.shape(x), ctx.shape(y)
    target: list[int] = list(node.shape)
    if before and after:
        if after[0] == before[0]:
            target = [0, *after[1:]]
        elif after[0] % before[0] == 0 and math.prod(before[1:]) % math.prod(after[1:]) == 0:
            target = [-1, *after[1:]]
    ctx.node("Reshape", [x, ctx.ints(f"{node.name}.shape", target)], [y], node.name)
