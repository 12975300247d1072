"""RoiPool -> standard operators. (ONNX's MaxRoiPool is not used: ONNX Runtime starts each bin's
maximum at the smallest positive float, not at -FLT_MAX, so it turns negative maxima into 1e-38.)

Per roi: the features of its batch item (Gather), its corners times spatial_scale rounded half away
from zero (in double: sign(v) * floor(|v| + 0.5)), the bin edges in float32 as the IR says, then a
row mask (R, pooled_h, H) and a column mask (R, pooled_w, W). The maximum is taken over the columns
of each bin (one Where + ReduceMax per bin column), then over the rows (one per bin row), cells
outside the bin reading -FLT_MAX; bins empty after clipping give 0.
"""

import numpy as np

from converter.emit.onnx import proto
from converter.emit.onnx.registry import Context, converts
from converter.ir import RoiPool

LOWEST = float(np.finfo(np.float32).min)


def _reduce_max(ctx: Context, x: str, axis: int, y: str, name: str) -> None:
    """ReduceMax over one axis, kept: an attribute before opset 18, an input from 18 on."""
    if ctx.opset >= 18:
        ctx.node("ReduceMax", [x, ctx.ints(f"{name}.axes", [axis])], [y], name, keepdims=1)
    else:
        ctx.node("ReduceMax", [x], [y], name, axes=[axis], keepdims=1)


class _Builder:
    """Names the parts of one RoiPool node."""

    def __init__(self, node: RoiPool, ctx: Context) -> None:
        self.node, self.ctx, self.y = node, ctx, node.outputs[0]

    def op(self, op: str, inputs: list[str], part: str, **attrs: object) -> str:
        out = self.ctx.tensor(f"{self.y}/{part}")
        self.ctx.node(op, inputs, [out], self.node.name + out[len(self.y):], **attrs)
        return out

    def columns(self, x: str, start: int, end: int, part: str) -> str:
        ctx, name = self.ctx, self.node.name
        return self.op("Slice", [x, ctx.ints(f"{name}.{part}_start", [start]), ctx.ints(f"{name}.{part}_end", [end]),
                                 ctx.ints(f"{name}.{part}_axes", [1])], part)

    def bins(self, corner_start: str, size: str, pooled: int, limit: int, axis: str) -> tuple[str, str, str]:
        """Bin starts and ends (R, pooled), clipped to [0, limit], and the membership mask
        (R, pooled, limit) of each cell along `axis`."""
        ctx, name = self.ctx, self.node.name
        bin_size = self.op("Div", [size, ctx.const(f"{name}.pooled_{axis}", float(pooled))], f"bin_{axis}")
        index = ctx.const(f"{name}.bins_{axis}", np.arange(pooled, dtype=np.float32).reshape(1, pooled))
        following = ctx.const(f"{name}.next_bins_{axis}", np.arange(1, pooled + 1, dtype=np.float32).reshape(1, pooled))
        zero, top = ctx.const(f"{name}.zero_{axis}", 0.0), ctx.const(f"{name}.limit_{axis}", float(limit))
        edges = []
        for label, rounding, factor in (("start", "Floor", index), ("end", "Ceil", following)):
            offset = self.op(rounding, [self.op("Mul", [factor, bin_size], f"{label}_{axis}_scaled")],
                             f"{label}_{axis}_rounded")
            shifted = self.op("Add", [offset, corner_start], f"{label}_{axis}_shifted")
            edges.append(self.op("Min", [self.op("Max", [shifted, zero], f"{label}_{axis}_low"), top],
                                 f"{label}_{axis}"))
        cells = ctx.const(f"{name}.cells_{axis}", np.arange(limit, dtype=np.float32).reshape(1, 1, limit))
        edge_shape = ctx.ints(f"{name}.edge_shape_{axis}", [0, pooled, 1])
        first, last = (self.op("Reshape", [edge, edge_shape], f"{label}_{axis}_column")
                       for edge, label in zip(edges, ("start", "end"), strict=True))
        inside = self.op("And", [self.op("GreaterOrEqual", [cells, first], f"after_start_{axis}"),
                                 self.op("Less", [cells, last], f"before_end_{axis}")], f"inside_{axis}")
        return edges[0], edges[1], inside


@converts(RoiPool)
def roi_pool(node: RoiPool, ctx: Context) -> None:
    b = _Builder(node, ctx)
    x, rois = node.inputs
    name, (ph_n, pw_n) = node.name, node.pooled
    _, _, h, w = ctx.shape(x)
    table = b.op("Reshape", [rois, ctx.ints(f"{name}.roi_rows", [-1, 5])], "rois")
    batch = b.op("Cast", [b.columns(table, 0, 1, "batch_column")], "batch_int", to=proto.INT64)
    batch = b.op("Reshape", [batch, ctx.ints(f"{name}.flat", [-1])], "batch")
    features = b.op("Gather", [x, batch], "features", axis=0)
    scaled = b.op("Mul", [b.columns(table, 1, 5, "corners"), ctx.const(f"{name}.spatial_scale", node.spatial_scale)],
                  "scaled")
    wide = b.op("Cast", [scaled], "scaled_double", to=proto.DOUBLE)
    # 0.5 as a double through a Cast: the model's initializers stay float32 and int64.
    half = b.op("Cast", [ctx.const(f"{name}.half", 0.5)], "half_double", to=proto.DOUBLE)
    magnitude = b.op("Floor", [b.op("Add", [b.op("Abs", [wide], "magnitude"), half], "magnitude_half")],
                     "magnitude_rounded")
    rounded = b.op("Cast", [b.op("Mul", [b.op("Sign", [wide], "sign"), magnitude], "rounded_double")], "rounded",
                   to=proto.FLOAT)
    # rounded: (R, 4) = start_w, start_h, end_w, end_h
    size = b.op("Max", [b.op("Add", [b.op("Sub", [b.columns(rounded, 2, 4, "ends"), b.columns(rounded, 0, 2, "starts")],
                                          "span"), ctx.const(f"{name}.one", 1.0)], "span_cells"),
                        ctx.const(f"{name}.at_least", 1.0)], "size")
    h_start, h_end, in_rows = b.bins(b.columns(rounded, 1, 2, "corner_h"), b.columns(size, 1, 2, "size_h"),
                                     ph_n, h, "h")
    w_start, w_end, in_cols = b.bins(b.columns(rounded, 0, 1, "corner_w"), b.columns(size, 0, 1, "size_w"),
                                     pw_n, w, "w")
    lowest = ctx.const(f"{name}.lowest", LOWEST)
    column_maxima = []
    for pw in range(pw_n):
        mask = b.op("Reshape", [b.op("Slice", [in_cols, ctx.ints(f"{name}.col{pw}_start", [pw]),
                                               ctx.ints(f"{name}.col{pw}_end", [pw + 1]),
                                               ctx.ints(f"{name}.col{pw}_axes", [1])], f"col{pw}_cells"),
                                ctx.ints(f"{name}.col{pw}_shape", [0, 1, 1, w])], f"col{pw}_mask")
        masked = b.op("Where", [mask, features, lowest], f"col{pw}_masked")
        column_maxima.append(ctx.tensor(f"{node.outputs[0]}/col{pw}_max"))
        _reduce_max(ctx, masked, 3, column_maxima[-1], f"{name}/col{pw}_max")
    by_column = b.op("Concat", column_maxima, "by_column", axis=3)
    row_maxima = []
    for ph in range(ph_n):
        mask = b.op("Reshape", [b.op("Slice", [in_rows, ctx.ints(f"{name}.row{ph}_start", [ph]),
                                               ctx.ints(f"{name}.row{ph}_end", [ph + 1]),
                                               ctx.ints(f"{name}.row{ph}_axes", [1])], f"row{ph}_cells"),
                                ctx.ints(f"{name}.row{ph}_shape", [0, 1, h, 1])], f"row{ph}_mask")
        masked = b.op("Where", [mask, by_column, lowest], f"row{ph}_masked")
        row_maxima.append(ctx.tensor(f"{node.outputs[0]}/row{ph}_max"))
        _reduce_max(ctx, masked, 2, row_maxima[-1], f"{name}/row{ph}_max")
    pooled = b.op("Max", [b.op("Concat", row_maxima, "by_bin", axis=2), lowest], "pooled")
    empty_rows = b.op("Reshape", [b.op("LessOrEqual", [h_end, h_start], "empty_h_flat"),
                                  ctx.ints(f"{name}.empty_h_shape", [0, 1, ph_n, 1])], "empty_h")
    empty_cols = b.op("Reshape", [b.op("LessOrEqual", [w_end, w_start], "empty_w_flat"),
                                  ctx.ints(f"{name}.empty_w_shape", [0, 1, 1, pw_n])], "empty_w")
    empty = b.op("Or", [empty_rows, empty_cols], "empty")
    ctx.node("Where", [empty, ctx.const(f"{name}.empty_value", 0.0), pooled], node.outputs, name)
