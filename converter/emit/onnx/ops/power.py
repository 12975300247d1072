"""Power: (shift + scale*x) ** power as Mul, Add, Pow, each left out when it is the identity.

When power or scale is 0 the IR's output is a constant whatever x holds (an infinite or NaN x
included), so it is filled in directly: ConstantOfShape(Shape(x)).
"""

import numpy as np

from converter.emit.onnx.ops._common import affine
from converter.emit.onnx.registry import Context, converts
from converter.ir import Power


@converts(Power)
def power(node: Power, ctx: Context) -> None:
    if node.power == 0 or node.scale == 0:
        value = np.float32(1) if node.power == 0 else np.power(np.float32(node.shift), np.float32(node.power))
        shape = ctx.tensor(f"{node.outputs[0]}/shape")
        ctx.node("Shape", [node.inputs[0]], [shape], f"{node.name}/shape")
        ctx.node("ConstantOfShape", [shape], node.outputs, node.name,
                 value=np.array([value], np.float32))
        return
    if node.power == 1:
        affine(node, ctx, node.scale, node.shift, final=True)
        return
    base = affine(node, ctx, node.scale, node.shift)
    ctx.node("Pow", [base, ctx.const(f"{node.name}.power", node.power)], node.outputs, node.name)
