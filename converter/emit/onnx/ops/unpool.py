"""Unpool -> ScatterElements into a zero plane per (n, c), the mask cast to int64 (Cast truncates
toward zero, as the IR says).

ScatterElements leaves the outcome of repeated indices unspecified. When the mask comes straight
from a max Pool whose windows do not overlap (stride >= kernel on both axes, or one global window)
no two cells can name one index, and the data is scattered directly. Otherwise the last writer of
each output cell is found first, with ScatterElements' `max` reduction (opset 18) over the cell
numbers 1..H*W, and its value gathered (0 where no cell writes).
"""

import numpy as np

from converter.emit.onnx import proto
from converter.emit.onnx.registry import Context, converts
from converter.errors import ModelError
from converter.ir import Pool, Unpool


def _distinct_indices(node: Unpool, ctx: Context) -> bool:
    """Whether the mask's indices cannot repeat within a plane: a non-overlapping max Pool wrote it."""
    producer = ctx.graph.producer(node.inputs[1])
    if not isinstance(producer, Pool) or producer.mask != node.inputs[1]:
        return False
    return producer.global_pool or all(s >= k for s, k in zip(producer.stride, producer.kernel, strict=True))


def _planes(node: Unpool, ctx: Context, length: int, dtype: int) -> str:
    """Zeros of shape (N, C, length) (N and C read from the data at run time), of ONNX type `dtype`."""
    name, y = node.name, node.outputs[0]
    shape, lead, target, zeros = (ctx.tensor(f"{y}/{part}") for part in ("shape", "lead", "planes_shape", "zeros"))
    ctx.node("Shape", [node.inputs[0]], [shape], f"{name}/shape")
    ctx.node("Slice", [shape, ctx.ints(f"{name}.lead_start", [0]), ctx.ints(f"{name}.lead_end", [2])], [lead],
             f"{name}/lead")
    ctx.node("Concat", [lead, ctx.ints(f"{name}.plane", [length])], [target], f"{name}/planes_shape", axis=0)
    zero = np.zeros(1, proto.NUMPY_TYPES[dtype])
    ctx.node("ConstantOfShape", [target], [zeros], f"{name}/zeros", value=zero)
    return zeros


@converts(Unpool)
def unpool(node: Unpool, ctx: Context) -> None:
    (x, mask), y, name = node.inputs, node.outputs[0], node.name
    _, _, h, w = ctx.shape(x)
    oh, ow = node.out_hw
    flat_shape = ctx.ints(f"{name}.flat", [0, 0, -1])
    data, index_float, index = (ctx.tensor(f"{y}/{part}") for part in ("data", "mask_flat", "index"))
    ctx.node("Reshape", [x, flat_shape], [data], f"{name}/data")
    ctx.node("Reshape", [mask, flat_shape], [index_float], f"{name}/mask_flat")
    ctx.node("Cast", [index_float], [index], f"{name}/index", to=proto.INT64)
    out_flat = ctx.tensor(f"{y}/flat")
    if _distinct_indices(node, ctx):
        zeros = _planes(node, ctx, oh * ow, proto.FLOAT)
        ctx.node("ScatterElements", [zeros, index, data], [out_flat], f"{name}/scatter", axis=2)
    else:
        if ctx.opset < 18:
            raise ModelError(f"unpooling by a mask that may repeat an index needs ONNX opset 18 or later "
                             f"(ScatterElements' max reduction picks the last writer); got opset {ctx.opset}: "
                             "use --opset 18", layer=name)
        numbers = ctx.const(f"{name}.cell_numbers", np.arange(1, h * w + 1).reshape(1, 1, h * w), np.int64)
        index_shape, order, winner, source, clamped, picked, written = (
            ctx.tensor(f"{y}/{part}") for part in ("index_shape", "order", "winner", "source", "clamped",
                                                   "picked", "written"))
        ctx.node("Shape", [index], [index_shape], f"{name}/index_shape")
        ctx.node("Expand", [numbers, index_shape], [order], f"{name}/order")
        zeros = _planes(node, ctx, oh * ow, proto.INT64)
        ctx.node("ScatterElements", [zeros, index, order], [winner], f"{name}/winner", axis=2, reduction="max")
        ctx.node("Sub", [winner, ctx.ints(f"{name}.one", [1])], [source], f"{name}/source")
        ctx.node("Max", [source, ctx.ints(f"{name}.first", [0])], [clamped], f"{name}/clamp")
        ctx.node("GatherElements", [data, clamped], [picked], f"{name}/gather", axis=2)
        ctx.node("Greater", [winner, ctx.ints(f"{name}.none", [0])], [written], f"{name}/written")
        ctx.node("Where", [written, picked, ctx.const(f"{name}.empty", 0.0)], [out_flat], f"{name}/select")
    ctx.node("Reshape", [out_flat, ctx.ints(f"{name}.shape", [0, 0, oh, ow])], [y], name)
