"""Pool -> ONNX pooling with the IR's exact semantics (floor rounding, ceil_mode 0 everywhere).

Average: the `pad` border counts in the divisor and `extra_end` cells do not. So pad explicitly
with zeros by `pad` (those cells become ordinary, counted input), then AveragePool with end-only
pads `extra_end` and count_include_pad=0 (padding cells uncounted).
Max: padding never wins, so MaxPool's own pads [pad, pad+extra_end]; onnxruntime rejects a pad
as large as the kernel, and then an explicit -FLT_MAX Pad goes first (a window holding no input
cell then gives -FLT_MAX, as the IR says).
Only the part of `extra_end` the last window reaches is used (same output size, smaller pads).
The argmax mask comes from MaxPool's Indices output, which flattens over the whole (N, C, H, W)
tensor MaxPool reads (the unpadded input for its own pads, else the explicitly padded one) and
picks the first of equal maxima, starting from the lowest float: its index within the plane is
turned into unpadded h * W + w as a float, and -1 where the maximum is -FLT_MAX (ONNX Runtime then
holds no meaningful index). A global max pooling with a mask is a MaxPool over the whole plane.
"""

import numpy as np

from converter.emit.onnx import proto
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


def _mask(node: Pool, ctx: Context, indices: str, plane: tuple[int, int], begin: tuple[int, int],
          width: int) -> None:
    """The node's mask output from MaxPool's `indices` over a (N, C, *plane) tensor whose first
    `begin` rows/columns are padding: (row - begin) * width + (column - begin), as a float; -1
    where the maximum is -FLT_MAX."""
    y, mask, name = node.outputs[0], node.outputs[1], node.name
    flat = ctx.tensor(f"{mask}/in_plane")
    ctx.node("Mod", [indices, ctx.ints(f"{name}.plane", [plane[0] * plane[1]])], [flat], f"{name}/in_plane")
    if begin != (0, 0) or plane[1] != width:
        row, col, unpadded_row, unpadded_col, start, index = (
            ctx.tensor(f"{mask}/{part}") for part in ("row", "col", "unpadded_row", "unpadded_col", "start", "index"))
        padded_width = ctx.ints(f"{name}.padded_width", [plane[1]])
        ctx.node("Div", [flat, padded_width], [row], f"{name}/row")
        ctx.node("Mod", [flat, padded_width], [col], f"{name}/col")
        ctx.node("Sub", [row, ctx.ints(f"{name}.pad_top", [begin[0]])], [unpadded_row], f"{name}/unpad_row")
        ctx.node("Sub", [col, ctx.ints(f"{name}.pad_left", [begin[1]])], [unpadded_col], f"{name}/unpad_col")
        ctx.node("Mul", [unpadded_row, ctx.ints(f"{name}.width", [width])], [start], f"{name}/row_start")
        ctx.node("Add", [start, unpadded_col], [index], f"{name}/index")
        flat = index
    as_float, found = ctx.tensor(f"{mask}/float"), ctx.tensor(f"{mask}/found")
    ctx.node("Cast", [flat], [as_float], f"{name}/float", to=proto.FLOAT)
    lowest = ctx.const(f"{name}.lowest", float(np.finfo(np.float32).min))
    ctx.node("Greater", [y, lowest], [found], f"{name}/found")
    ctx.node("Where", [found, as_float, ctx.const(f"{name}.none", -1.0)], [mask], f"{name}/mask")


def _max_pool(node: Pool, ctx: Context, in_hw: tuple[int, ...]) -> None:
    x, y = node.inputs[0], node.outputs[0]
    indices = ctx.tensor(f"{node.mask}/indices") if node.mask else None
    outputs = [y] if indices is None else [y, indices]
    if node.global_pool:  # with a mask only: GlobalMaxPool has no indices
        ctx.node("MaxPool", [x], outputs, node.name, kernel_shape=list(in_hw), strides=[1, 1])
        plane, begin = (in_hw[0], in_hw[1]), (0, 0)
    else:
        (kh, kw), (ph, pw) = node.kernel, node.pad
        eh, ew = _needed_extra(in_hw, node)
        geometry = {"kernel_shape": [kh, kw], "strides": list(node.stride), "ceil_mode": 0}
        if max(ph + eh, ph) < kh and max(pw + ew, pw) < kw:
            ctx.node("MaxPool", [x], outputs, node.name, pads=[ph, pw, ph + eh, pw + ew], **geometry)
            plane, begin = (in_hw[0], in_hw[1]), (0, 0)  # Indices ignore MaxPool's own pads
        else:
            padded = ctx.tensor(f"{y}/padded")
            pads = ctx.ints(f"{node.name}.pads", [0, 0, ph, pw, 0, 0, ph + eh, pw + ew])
            # -FLT_MAX, not -inf: a window of padding only gives Caffe's initial maximum.
            fill = ctx.const(f"{node.name}.fill", float(np.finfo(np.float32).min))
            ctx.node("Pad", [x, pads, fill], [padded], f"{node.name}/pad")
            ctx.node("MaxPool", [padded], outputs, node.name, **geometry)
            plane, begin = (in_hw[0] + 2 * ph + eh, in_hw[1] + 2 * pw + ew), (ph, pw)
    if indices is not None:
        _mask(node, ctx, indices, plane, begin, in_hw[1])


@converts(Pool)
def pool(node: Pool, ctx: Context) -> None:
    x, y = node.inputs[0], node.outputs[0]
    in_hw = ctx.shape(x)[-2:]
    if node.kind == "max" and (node.mask or not node.global_pool):
        _max_pool(node, ctx, in_hw)
        return
    if node.global_pool:
        ctx.node("GlobalMaxPool" if node.kind == "max" else "GlobalAveragePool", [x], [y], node.name)
        return
    node.check_windows(in_hw)
    (kh, kw), (ph, pw) = node.kernel, node.pad
    eh, ew = _needed_extra(in_hw, node)
    geometry = {"kernel_shape": [kh, kw], "strides": list(node.stride), "ceil_mode": 0}
    source = x
    if ph or pw:
        source = ctx.tensor(f"{y}/padded")
        ctx.node("Pad", [x, ctx.ints(f"{node.name}.pads", [0, 0, ph, pw, 0, 0, ph, pw])], [source], f"{node.name}/pad")
    ctx.node("AveragePool", [source], [y], node.name, pads=[0, 0, eh, ew], count_include_pad=0, **geometry)
