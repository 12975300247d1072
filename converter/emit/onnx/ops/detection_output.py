"""DetectionOutput -> standard ONNX operators, Caffe's algorithm step by step (see the IR docstring).

Decoding is element-wise arithmetic on the four coordinates (Split, Mul, Add, Exp, ...). The
candidates of each image and class are its scores above the threshold, sorted by TopK (equal
values: lower index first, as Caffe's stable sort) and cut to top_k. The suppression itself is a
Loop over candidate ranks, all images and classes at once: candidate i is kept when its overlap
with every box kept so far is <= the class's (adaptive) threshold. ONNX's NonMaxSuppression is not
used: its overlap normalises each box's corners with min/max (Caffe gives a box with xmax < xmin
size 0 and overlap 0), it has no adaptive threshold (eta), and a NaN overlap never suppresses there
(Caffe's `overlap <= t` fails on NaN, which inf-sized boxes produce). keep_top_k is a TopK over
each image's kept scores, class-major (equal scores: lower class, then earlier kept); NonZero then
lists the rows by image, class and rank, and GatherND picks their scores and boxes. With no row the
output is Caffe's N rows of -1 (an N-row fallback sliced in when the row count is 0).
"""

from __future__ import annotations

import numpy as np

from converter.emit.onnx import proto
from converter.emit.onnx.registry import Context, converts
from converter.ir import DetectionOutput

BOOL, FLOAT, INT64 = proto.BOOL, proto.FLOAT, proto.INT64


class _Builder:
    """Appends single-output (or `outputs`-output) nodes to `nodes`, each output a fresh name."""

    def __init__(self, ctx: Context, prefix: str, nodes: list) -> None:
        self.ctx, self.prefix, self.nodes = ctx, prefix, nodes

    def __call__(self, op: str, *inputs: str, hint: str = "", outputs: int = 1, **attrs: object) -> str:
        return self.many(op, *inputs, hint=hint, outputs=outputs, **attrs)[0]

    def many(self, op: str, *inputs: str, hint: str = "", outputs: int = 1, **attrs: object) -> list[str]:
        from onnx import helper  # imported only when a net has a DetectionOutput

        names = [self.ctx.tensor(f"{self.prefix}/{hint or op.lower()}") for _ in range(outputs)]
        self.nodes.append(helper.make_node(op, list(inputs), names, name=names[0], **attrs))
        return names

    def f(self, value: float, hint: str = "c") -> str:
        return self.ctx.const(f"{self.prefix}.{hint}", np.float32(value))

    def i(self, *values: int, hint: str = "i") -> str:
        return self.ctx.ints(f"{self.prefix}.{hint}", values)

    def scalar(self, value: int | bool, hint: str = "n", dtype: type = np.int64) -> str:
        """A 0-axis initializer (Context.const makes every value at least 1-D)."""
        name = self.ctx.unique(f"{self.prefix}.{hint}")
        self.ctx.weights.append((name, np.array(value, dtype)))
        return name


def _reduce(b: _Builder, op: str, x: str, axes: list[int], keepdims: int, opset: int) -> str:
    """ReduceMax/ReduceSum over `axes`, in the form of the opset (ReduceMax's axes became an input in 18)."""
    if op == "ReduceSum" or opset >= 18:
        return b(op, x, b.i(*axes, hint="axes"), keepdims=keepdims)
    return b(op, x, axes=axes, keepdims=keepdims)


def _columns(b: _Builder, x: str, hint: str) -> list[str]:
    """The four coordinates of an (..., 4) tensor, each without the last axis."""
    return [b("Squeeze", v, b.i(3, hint="last"), hint=hint)
            for v in b.many("Split", x, b.i(1, 1, 1, 1, hint="split"), outputs=4, axis=3, hint=hint)]


def _decode(node: DetectionOutput, b: _Builder, loc: str, prior: str, p: int, arm_loc: str | None
            ) -> tuple[list[str], str]:
    """Boxes as four (N, L, P) coordinate tensors and their sizes (N, L, P); with RefineDet's arm_loc
    decoded against the refined priors, each (N, 1, P)."""
    rows = b("Reshape", prior, b.i(2, 1, p, 4, hint="prior_shape"), hint="priors")
    prior_box, variance = b.many("Split", rows, b.i(1, 1, hint="halves"), outputs=2, axis=0, hint="prior")
    corners = _columns(b, prior_box, "prior")
    variances = None if node.variance_encoded_in_target else _columns(b, variance, "variance")
    if arm_loc is not None:
        corners = _decode_against(node, b, arm_loc, p, 1, corners, variances)
    x0, y0, x1, y1 = coords = _decode_against(node, b, loc, p, 1 if node.share_location else node.num_classes,
                                              corners, variances)
    area = b("Mul", b("Sub", x1, x0), b("Sub", y1, y0), hint="area")
    invalid = b("Or", b("Less", x1, x0), b("Less", y1, y0), hint="invalid")
    return coords, b("Where", invalid, b.f(0.0, "zero"), area, hint="size")


def _decode_against(node: DetectionOutput, b: _Builder, loc: str, p: int, n_loc: int, pc: list[str],
                    variances: list[str] | None) -> list[str]:
    """loc (N, P * n_loc * 4) decoded against the prior corners pc (each (1 or N, 1, P)): (N, n_loc, P) each."""
    shaped = b("Reshape", loc, b.i(0, p, n_loc, 4, hint="loc_shape"), hint="loc")
    d = _columns(b, b("Transpose", shaped, perm=[0, 2, 1, 3], hint="loc_by_class"), "d")
    if variances is not None:
        d = [b("Mul", v, x, hint="scaled") for v, x in zip(variances, d, strict=True)]
    if node.code_type == "corner":
        return [b("Add", c, x, hint="corner") for c, x in zip(pc, d, strict=True)]
    pw, ph = b("Sub", pc[2], pc[0], hint="prior_w"), b("Sub", pc[3], pc[1], hint="prior_h")
    if node.code_type == "corner_size":
        return [b("Add", c, b("Mul", x, side, hint="offset"), hint="corner")
                for c, x, side in zip(pc, d, (pw, ph, pw, ph), strict=True)]
    half = b.f(0.5, "half")
    cx = b("Add", b("Mul", d[0], pw), b("Mul", b("Add", pc[0], pc[2]), half), hint="cx")
    cy = b("Add", b("Mul", d[1], ph), b("Mul", b("Add", pc[1], pc[3]), half), hint="cy")
    hw = b("Mul", b("Mul", b("Exp", d[2]), pw), half, hint="half_w")
    hh = b("Mul", b("Mul", b("Exp", d[3]), ph), half, hint="half_h")
    return [b("Sub", cx, hw, hint="x0"), b("Sub", cy, hh, hint="y0"), b("Add", cx, hw, hint="x1"),
            b("Add", cy, hh, hint="y1")]


def _objectness_filtered(node: DetectionOutput, b: _Builder, conf: str, arm_conf: str, p: int) -> str:
    """RefineDet: conf (N, P, C) with the rows of priors whose objectness is below objectness_score
    replaced by [1, 0, ..., 0]."""
    pairs = b("Reshape", arm_conf, b.i(0, p, 2, hint="arm_conf_shape"), hint="arm_conf")
    objectness = b("Gather", pairs, b.i(1, hint="object"), axis=2, hint="objectness")  # (N, P, 1)
    easy = b("Less", objectness, b.f(node.objectness_score, "objectness_score"), hint="easy")
    row = np.zeros(node.num_classes, np.float32)
    row[0] = 1
    return b("Where", easy, b.ctx.const(f"{node.name}.easy_row", row), conf, hint="filtered")


def _suppress(node: DetectionOutput, ctx: Context, b: _Builder, boxes: list[str], sizes: str, valid: str,
              k: int) -> str:
    """The Loop keeping candidates in rank order; returns the kept mask (N, C, K)."""
    from onnx import helper

    ranks = b("Range", b.scalar(0, "start"), b.scalar(k, "k"), b.scalar(1, "step"), hint="ranks")
    body: list = []
    s = _Builder(ctx, f"{node.name}/nms", body)
    rank, cond_in = ctx.tensor(f"{node.name}/nms/rank"), ctx.tensor(f"{node.name}/nms/cond_in")
    kept_in, limit_in = ctx.tensor(f"{node.name}/nms/kept_in"), ctx.tensor(f"{node.name}/nms/limit_in")
    index = s("Unsqueeze", rank, s.i(0, hint="axis0"), hint="index")
    pick = [s("Gather", v, index, axis=2, hint="candidate") for v in (*boxes, sizes, valid)]
    cx0, cy0, cx1, cy1, csize, cvalid = pick
    x0, y0, x1, y1 = boxes
    apart = s("Or", s("Or", s("Greater", x0, cx1), s("Less", x1, cx0)),
              s("Or", s("Greater", y0, cy1), s("Less", y1, cy0)), hint="apart")
    width = s("Sub", s("Min", cx1, x1), s("Max", cx0, x0), hint="iw")
    height = s("Sub", s("Min", cy1, y1), s("Max", cy0, y0), hint="ih")
    zero = s.f(0.0, "zero")
    inter = s("Mul", width, height, hint="inter")
    ratio = s("Div", inter, s("Sub", s("Add", csize, sizes), inter), hint="ratio")
    meets = s("And", s("Not", apart), s("And", s("Greater", width, zero), s("Greater", height, zero)), hint="meets")
    overlap = s("Where", meets, ratio, zero, hint="overlap")
    limit = s("Unsqueeze", limit_in, s.i(2, hint="axis2"), hint="limit")
    blocked = s("And", kept_in, s("Not", s("LessOrEqual", overlap, limit)), hint="blocked")
    blocks = _reduce(s, "ReduceSum", s("Cast", blocked, to=FLOAT), [2], 1, ctx.opset)
    keep = s("And", cvalid, s("Not", s("Greater", blocks, zero)), hint="keep")  # (N, C, 1)
    at_rank = s("Equal", ranks, rank, hint="at")
    kept_out = s("Or", kept_in, s("And", keep, at_rank), hint="kept")
    limit_out = limit_in
    if node.eta < 1:
        shrink = s("And", s("Squeeze", keep, s.i(2, hint="axis2")), s("Greater", limit_in, s.f(0.5, "half")))
        limit_out = s("Where", shrink, s("Mul", limit_in, s.f(node.eta, "eta")), limit_in, hint="limit")
    cond_out = s("Identity", cond_in, hint="cond")
    limit_final = s("Identity", limit_out, hint="limit_out")
    graph = helper.make_graph(
        body, f"{node.name}_nms",
        [helper.make_tensor_value_info(rank, INT64, []), helper.make_tensor_value_info(cond_in, BOOL, []),
         helper.make_tensor_value_info(kept_in, BOOL, None), helper.make_tensor_value_info(limit_in, FLOAT, None)],
        [helper.make_tensor_value_info(cond_out, BOOL, []), helper.make_tensor_value_info(kept_out, BOOL, None),
         helper.make_tensor_value_info(limit_final, FLOAT, None)])
    counts = _reduce(b, "ReduceSum", b("Cast", valid, to=INT64), [2], 0, ctx.opset)
    trips = _reduce(b, "ReduceMax", counts, [0, 1], 0, ctx.opset)
    shape = b("Shape", valid)
    kept0 = b("Expand", ctx.const(f"{node.name}.false", np.bool_(False), np.bool_), shape, hint="none_kept")
    limit0 = b("Expand", b.f(node.nms_threshold, "nms_threshold"), b("Slice", shape, b.i(0), b.i(2), b.i(0)),
               hint="limit0")
    kept, _ = b.many("Loop", trips, b.scalar(True, "true", np.bool_), kept0, limit0,
                     outputs=2, body=graph, hint="kept")
    return kept


@converts(DetectionOutput)
def detection_output(node: DetectionOutput, ctx: Context) -> None:
    loc, conf, prior = node.inputs[:3]
    arm_conf, arm_loc = (*node.inputs[3:], None, None)[:2]
    b = _Builder(ctx, node.name, ctx.nodes)
    p = ctx.shape(prior)[2] // 4
    c = node.num_classes
    k = p if node.top_k < 0 else max(1, min(node.top_k, p))
    coords, size = _decode(node, b, loc, prior, p, arm_loc)
    conf_rows = b("Reshape", conf, b.i(0, p, c, hint="conf_shape"))
    if arm_conf is not None:
        conf_rows = _objectness_filtered(node, b, conf_rows, arm_conf, p)
    scores = b("Transpose", conf_rows, perm=[0, 2, 1], hint="scores")
    threshold = b.f(node.confidence_threshold, "confidence_threshold")
    classes = np.arange(c).reshape(1, c, 1) != node.background_label_id
    valid = b("And", b("Greater", scores, threshold), ctx.const(f"{node.name}.classes", classes, np.bool_))
    masked = b("Where", valid, scores, b.f(-np.inf, "minus_inf"), hint="masked")
    top, ranks = b.many("TopK", masked, b.i(k, hint="top_k"), axis=2, largest=1, sorted=1, outputs=2, hint="top")
    candidate_valid = b("Greater", top, threshold, hint="candidate_valid")
    if node.top_k == 0:  # no candidate at all (TopK needs k >= 1: one is taken, then dropped)
        candidate_valid = b("And", candidate_valid, ctx.const(f"{node.name}.none", np.bool_(False), np.bool_))
    # Each candidate's box: the (N, L, P) coordinates, gathered by rank for every class.
    boxes = [b("GatherElements", b("Expand", v, b("Shape", masked)), ranks, axis=2, hint="candidate_box")
             for v in coords]
    sizes = b("GatherElements", b("Expand", size, b("Shape", masked)), ranks, axis=2, hint="candidate_size")
    kept = _suppress(node, ctx, b, boxes, sizes, candidate_valid, k)
    flat = b.i(0, c * k, hint="flat_shape")
    kept_flat = b("Reshape", kept, flat, hint="kept_flat")
    scores_flat = b("Reshape", top, flat, hint="scores_flat")
    final = kept_flat
    if node.keep_top_k == 0:
        final = b("And", kept_flat, ctx.const(f"{node.name}.nothing", np.zeros(1, np.bool_), np.bool_))
    elif -1 < node.keep_top_k < c * k:
        ranked = b("Where", kept_flat, scores_flat, b.f(-np.inf, "minus_inf"), hint="kept_scores")
        _, best = b.many("TopK", ranked, b.i(node.keep_top_k, hint="keep_top_k"), axis=1, largest=1, sorted=1,
                         outputs=2, hint="best")
        marks = b("ScatterElements", b("Expand", b.f(0.0, "zero"), b("Shape", scores_flat)), best,
                  b("Expand", b.f(1.0, "one"), b("Shape", best)), axis=1, hint="chosen")
        final = b("And", kept_flat, b("Greater", marks, b.f(0.5, "half")), hint="final")
    where = b("Transpose", b("NonZero", final), perm=[1, 0], hint="rows")  # (R, 2): image, class * K + rank
    image, slot = b.many("Split", where, b.i(1, 1, hint="halves"), axis=1, outputs=2, hint="row")
    label = b("Div", slot, b.scalar(k, "k"), hint="label")
    row_score = b("GatherND", scores_flat, where, hint="score")
    box_columns = [b("GatherND", b("Reshape", v, flat), where, hint="box") for v in boxes]
    columns = [b("Cast", image, to=FLOAT), b("Cast", label, to=FLOAT), b("Unsqueeze", row_score, b.i(1)),
               *(b("Unsqueeze", v, b.i(1)) for v in box_columns)]
    rows = b("Concat", *columns, axis=1, hint="detections")
    # No detection at all: Caffe's N rows [n, -1, ..., -1].
    batch = b("Gather", b("Shape", loc), b.scalar(0, "zero_index"), axis=0, hint="batch")
    images = b("Cast", b("Unsqueeze", b("Range", b.scalar(0, "start"), batch, b.scalar(1, "step")), b.i(1)), to=FLOAT)
    fill = b("Expand", b.f(-1.0, "minus_one"), b("Concat", b("Unsqueeze", batch, b.i(0)), b.i(6), axis=0))
    fallback = b("Concat", images, fill, axis=1, hint="no_detection")
    found = b("Gather", b("Shape", rows), b.scalar(0, "zero_index"), axis=0, hint="found")
    end = b("Where", b("Greater", found, b.scalar(0, "zero")), found, batch, hint="end")
    table = b("Slice", b("Concat", rows, fallback, axis=0), b.i(0), b("Unsqueeze", end, b.i(0)), b.i(0), hint="table")
    ctx.node("Reshape", [table, b.i(1, 1, -1, 7, hint="out_shape")], node.outputs, node.name)
