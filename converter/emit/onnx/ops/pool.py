"""Pool -> ONNX pooling with the IR's exact semantics (floor rounding, ceil_mode 0 everywhere).

Average: the `pad` border counts in the divisor and `extra_end` cells do not. So pad explicitly
with zeros by `pad` (those cells become ordinary, counted input), then AveragePool with end-only
pads `extra_end` and count_include_pad=0 (padding cells uncounted).
Max: padding never wins, so MaxPool's own pads [pad, pad+extra_end]; onnxruntime rejects a pad
as large as the kernel, and then an explicit -FLT_MAX Pad goes first (a window holding no input
cell then gives -FLT_MAX, as the IR says).
Only the part of `extra_end` the last window reaches is used (same output size, smaller pads).
"""

import numpy as np

from converter.emit.onnx.registry import Context, converts
from converter.ir import Pool


def _needed_extra(size: tuple[int, ...], node: Pool) -> tuple[int, int]:
    """The part of `extra_end` the last window actually reaches (the output size is unchanged),
    so end pads stay below the kernel whenever that is possible."""
    needed = []
    for n, k, s, p, e in zip(size, node.kernel, node.stride, node.pad, node.extra_end, strict=True):
        length = n + 2 * p
        out = (length + e - k) // s + 1
        needed.append(min(e, max(0, (out - 1) * s + k - length)))
    return needed[0], needed[1]


@converts(Pool)
def pool(node: Pool, ctx: Context) -> None:
    x, y = node.inputs[0], node.outputs[0]
    if node.global_pool:
        ctx.node("GlobalMaxPool" if node.kind == "max" else "GlobalAveragePool", [x], [y], node.name)
        return
    in_hw = ctx.shape(x)[-2:]
    node.check_windows(in_hw)
    (kh, kw), (ph, pw) = node.kernel, node.pad
    eh, ew = _needed_extra(in_hw, node)
    geometry = {"kernel_shape": [kh, kw], "strides": list(node.stride), "ceil_mode": 0}
    if node.kind == "max":
        begin, end = [ph, pw], [ph + eh, pw + ew]
        if max(end[0], begin[0]) < kh and max(end[1], begin[1]) < kw:
            ctx.node("MaxPool", [x], [y], node.name, pads=begin + end, **geometry)
            return
        padded = ctx.tensor(f"{y}/padded")
        pads = ctx.ints(f"{node.name}.pads", [0, 0, *begin, 0, 0, *end])
        # -FLT_MAX, not -inf: a window of padding only gives Caffe's initial maximum.
        fill = ctx.const(f"{node.name}.fill", float(np.finfo(np.float32).min))
        ctx.node("Pad", [x, pads, fill], [padded], f"{node.name}/pad")
        ctx.node("MaxPool", [padded], [y], node.name, **geometry)
        return
    source = x
    if ph or pw:
        source = ctx.tensor(f"{y}/padded")
        ctx.node("Pad", [x, ctx.ints(f"{node.name}.pads", [0, 0, ph, pw, 0, 0, ph, pw])], [source], f"{node.name}/pad")
    ctx.node("AveragePool", [source], [y], node.name, pads=[0, 0, eh, ew], count_include_pad=0, **geometry)
