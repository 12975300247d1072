"""py-faster-rcnn's region proposal layer (`type: "Python"`, module `rpn.proposal_layer`, layer
`ProposalLayer`) as a plugin: reference executor, IR op, ONNX (standard operators) and PyTorch (torch
ops only) emitters, registered like any user plugin (README: Plugins) and loaded through the
`squeeze_convert.plugins` entry point the package declares (pyproject.toml).

Semantics (rbgirshick/py-faster-rcnn lib/rpn/proposal_layer.py, generate_anchors.py,
lib/fast_rcnn/bbox_transform.py, lib/nms), TEST-phase configuration: RPN_PRE_NMS_TOP_N 6000,
RPN_POST_NMS_TOP_N 300, RPN_NMS_THRESH 0.7, RPN_MIN_SIZE 16; `param_str` gives feat_stride and
optionally scales (default 8, 16, 32). Bottoms: fg/bg probabilities (1, 2A, H, W) (the second A
channels are the foreground), box deltas (1, 4A, H, W), im_info (1, 3) = image height, width, scale.
Only a batch of one image is supported, as in the original.

1. A anchors (3 ratios 0.5, 1, 2 times the scales, around the 16x16 base box (0, 0, 15, 15), with
   numpy's round-half-to-even of sqrt(256 / ratio)), shifted to every cell: anchor (h, w, a) is
   anchor a plus (w, h, w, h) * feat_stride, in the order h, w, a; as float32.
2. Scores and deltas taken in the same (h, w, a) order; in float32:
   width = x2 - x1 + 1, ctr_x = x1 + 0.5 * width, pred_ctr_x = dx * width + ctr_x,
   pred_w = exp(dw) * width, x1' = pred_ctr_x - 0.5 * pred_w, x2' = pred_ctr_x + 0.5 * pred_w (y alike).
3. Clipped: x to [0, im_w - 1], y to [0, im_h - 1] (min first, then max with 0).
4. Kept only if x2 - x1 + 1 >= min_size * im_scale and y2 - y1 + 1 >= the same.
5. Sorted by score, highest first (equal scores: the earlier box first), the first 6000 kept.
6. Greedy non-maximum suppression in that order: a box is dropped when its overlap with a kept box,
   inter / (area_a + area_b - inter) with +1 pixel widths (w = max(0, min(x2) - max(x1) + 1)), is
   above 0.7 (py_cpu_nms and the GPU NMS; the Cython CPU NMS drops at >= 0.7, which differs only at
   an overlap of exactly 0.7). At most 300 boxes, in the order kept.
7. Tops: rois (R, 5), rows [0, x1, y1, x2, y2], R <= 300 depending on the data (the net's recorded
   shape says 300); optionally their scores (R, 1).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import expect_count, fail
from converter.caffe.net import CaffeLayer, Shape
from converter.emit.onnx.registry import Context
from converter.emit.onnx.registry import converts as onnx_converts
from converter.emit.torch.registry import Built, Helper
from converter.emit.torch.registry import converts as torch_converts
from converter.emit.torch.writer import number
from converter.ir import Graph, Node
from converter.ir.ops import InvalidNode
from converter.lift.registry import converts

TYPE = "rpn.proposal_layer.ProposalLayer"  # python_param module "rpn.proposal_layer", layer "ProposalLayer"
PRE_NMS_TOP_N, POST_NMS_TOP_N, NMS_THRESH, MIN_SIZE = 6000, 300, 0.7, 16
DEFAULT_SCALES = (8, 16, 32)


# ---------------------------------------------------------------------------------------------- anchors


def _box_shape(box: np.ndarray) -> tuple[float, float, float, float]:
    w, h = box[2] - box[0] + 1, box[3] - box[1] + 1
    return w, h, box[0] + 0.5 * (w - 1), box[1] + 0.5 * (h - 1)


def _boxes_around(ws: np.ndarray, hs: np.ndarray, x_ctr: float, y_ctr: float) -> np.ndarray:
    ws, hs = ws[:, None], hs[:, None]
    return np.hstack((x_ctr - 0.5 * (ws - 1), y_ctr - 0.5 * (hs - 1), x_ctr + 0.5 * (ws - 1), y_ctr + 0.5 * (hs - 1)))


def base_anchors(scales: tuple[float, ...] = DEFAULT_SCALES, base_size: int = 16,
                 ratios: tuple[float, ...] = (0.5, 1, 2)) -> np.ndarray:
    """generate_anchors: (len(ratios) * len(scales), 4) boxes x1, y1, x2, y2 in float64, ratio-major."""
    w, h, x_ctr, y_ctr = _box_shape(np.array([0, 0, base_size - 1, base_size - 1], np.float64))
    ratio_ws = np.round(np.sqrt(w * h / np.array(ratios, np.float64)))
    ratio_hs = np.round(ratio_ws * np.array(ratios, np.float64))
    by_ratio = _boxes_around(ratio_ws, ratio_hs, x_ctr, y_ctr)
    anchors = []
    for box in by_ratio:
        bw, bh, bx, by = _box_shape(box)
        anchors.append(_boxes_around(bw * np.array(scales, np.float64), bh * np.array(scales, np.float64), bx, by))
    return np.vstack(anchors)


def shifted_anchors(base: np.ndarray, height: int, width: int, feat_stride: int) -> np.ndarray:
    """Every anchor at every cell, (height * width * A, 4) in the order (h, w, a), as float32."""
    shift_x, shift_y = np.meshgrid(np.arange(width) * feat_stride, np.arange(height) * feat_stride)
    shifts = np.stack([shift_x.ravel(), shift_y.ravel(), shift_x.ravel(), shift_y.ravel()], axis=1)
    return (base[None, :, :] + shifts[:, None, :]).reshape(-1, 4).astype(np.float32)


# ---------------------------------------------------------------------------------------------- numpy


def decode(anchors: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """bbox_transform_inv in float32: anchors (M, 4) moved and resized by deltas (M, 4)."""
    widths = anchors[:, 2] - anchors[:, 0] + np.float32(1)
    heights = anchors[:, 3] - anchors[:, 1] + np.float32(1)
    ctr_x = anchors[:, 0] + np.float32(0.5) * widths
    ctr_y = anchors[:, 1] + np.float32(0.5) * heights
    pred_ctr_x = deltas[:, 0] * widths + ctr_x
    pred_ctr_y = deltas[:, 1] * heights + ctr_y
    pred_w = np.exp(deltas[:, 2]) * widths
    pred_h = np.exp(deltas[:, 3]) * heights
    half_w, half_h = np.float32(0.5) * pred_w, np.float32(0.5) * pred_h
    return np.stack([pred_ctr_x - half_w, pred_ctr_y - half_h, pred_ctr_x + half_w, pred_ctr_y + half_h], axis=1)


def greedy_nms(boxes: np.ndarray, threshold: float) -> list[int]:
    """Indices kept by greedy NMS over boxes already in score order (+1 pixel widths, float32)."""
    x1, y1, x2, y2 = boxes.T
    one, zero = np.float32(1), np.float32(0)
    areas = (x2 - x1 + one) * (y2 - y1 + one)
    suppressed = np.zeros(len(boxes), bool)
    keep: list[int] = []
    for i in range(len(boxes)):
        if suppressed[i]:
            continue
        keep.append(i)
        w = np.maximum(zero, np.minimum(x2[i], x2) - np.maximum(x1[i], x1) + one)
        h = np.maximum(zero, np.minimum(y2[i], y2) - np.maximum(y1[i], y1) + one)
        inter = w * h
        overlap = inter / (areas[i] + areas - inter)
        suppressed |= overlap > np.float32(threshold)
    return keep


def propose(scores: np.ndarray, deltas: np.ndarray, im_info: np.ndarray,
            anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The layer's forward (steps 2 to 7 of the module docstring) for one image: rois (R, 5) and
    their scores (R, 1)."""
    count = len(anchors)
    fg = scores[:, scores.shape[1] // 2:].transpose(0, 2, 3, 1).reshape(-1).astype(np.float32)
    moves = deltas.transpose(0, 2, 3, 1).reshape(-1, 4).astype(np.float32)
    if len(fg) != count or len(moves) != count:
        raise ValueError(f"{len(fg)} scores and {len(moves)} deltas for {count} anchors")
    im_h, im_w, im_scale = (np.float32(v) for v in im_info.reshape(-1)[:3])
    boxes = decode(anchors, moves)
    zero, one = np.float32(0), np.float32(1)
    for column, limit in ((0, im_w), (1, im_h), (2, im_w), (3, im_h)):
        boxes[:, column] = np.maximum(np.minimum(boxes[:, column], limit - one), zero)
    min_size = np.float32(MIN_SIZE) * im_scale
    big = ((boxes[:, 2] - boxes[:, 0] + one) >= min_size) & ((boxes[:, 3] - boxes[:, 1] + one) >= min_size)
    boxes, fg = boxes[big], fg[big]
    order = np.argsort(-fg, kind="stable")[:PRE_NMS_TOP_N]
    boxes, fg = boxes[order], fg[order]
    kept = greedy_nms(boxes, NMS_THRESH)[:POST_NMS_TOP_N]
    rois = np.zeros((len(kept), 5), np.float32)
    rois[:, 1:] = boxes[kept]
    return rois, fg[kept].reshape(-1, 1)


# ---------------------------------------------------------------------------------------------- the layer


def layer_settings(layer: CaffeLayer) -> tuple[int, tuple[float, ...]]:
    """feat_stride and scales from the layer's param_str (a YAML mapping such as "'feat_stride': 16")."""
    text = layer.param.python_param.param_str.strip()
    try:
        settings = ast.literal_eval("{" + text.replace("\n", ",") + "}") if text else {}
    except (ValueError, SyntaxError):
        raise fail(layer, f"param_str {text!r} is not a mapping of feat_stride (and scales) the converter can "
                          "read, such as \"'feat_stride': 16\"") from None
    if not isinstance(settings, dict) or "feat_stride" not in settings:
        raise fail(layer, f"param_str {text!r} must give feat_stride, e.g. \"'feat_stride': 16\"")
    unknown = sorted(set(settings) - {"feat_stride", "scales"})
    if unknown:
        raise fail(layer, f"param_str sets {', '.join(map(str, unknown))}, which ProposalLayer does not read")
    stride, scales = settings["feat_stride"], settings.get("scales", DEFAULT_SCALES)
    if not isinstance(stride, int) or stride <= 0:
        raise fail(layer, f"feat_stride must be a positive integer, got {stride!r}")
    try:
        scales = tuple(float(s) for s in scales)
    except (TypeError, ValueError):
        raise fail(layer, f"scales must be a list of numbers, got {scales!r}") from None
    return stride, scales


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    expect_count(layer, bottoms, bottoms_n=3, tops_n=None)
    if len(layer.tops) not in (1, 2):
        raise fail(layer, f"ProposalLayer makes rois and optionally their scores; the layer names "
                          f"{len(layer.tops)} tops")
    scores, deltas, im_info = bottoms
    _, scales = layer_settings(layer)
    anchors = 3 * len(scales)
    if len(scores) != 4 or scores[0] != 1 or scores[1] != 2 * anchors:
        raise fail(layer, f"the scores must be (1, {2 * anchors}, H, W) (batch 1, background and foreground "
                          f"of {anchors} anchors), got {list(scores)}")
    if tuple(deltas) != (1, 4 * anchors, *scores[2:]):
        raise fail(layer, f"the box deltas must be (1, {4 * anchors}, {scores[2]}, {scores[3]}), got {list(deltas)}")
    if len(im_info) < 2 or im_info[0] != 1 or im_info[-1] < 3:
        raise fail(layer, f"im_info must be (1, 3): height, width, scale; got {list(im_info)}")
    return [(POST_NMS_TOP_N, 5), (POST_NMS_TOP_N, 1)][: len(layer.tops)]


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    scores, deltas, im_info = (np.asarray(v, np.float32) for v in inputs)
    output_shapes(layer, [tuple(v.shape) for v in (scores, deltas, im_info)])
    stride, scales = layer_settings(layer)
    anchors = shifted_anchors(base_anchors(scales), scores.shape[2], scores.shape[3], stride)
    return list(propose(scores, deltas, im_info, anchors))[: len(layer.tops)]


register(TYPE, output_shapes=output_shapes, forward=forward)


# ---------------------------------------------------------------------------------------------- IR


@dataclass(kw_only=True)
class Proposal(Node):
    """py-faster-rcnn's region proposals (this module's docstring): inputs scores (1, 2A, H, W), deltas
    (1, 4A, H, W), im_info (1, 3); outputs rois (R, 5), rows [0, x1, y1, x2, y2], R <= post_nms_top_n,
    and optionally their scores (R, 1). `anchors` (H * W * A, 4) float32 are the shifted anchors in
    (h, w, a) order."""

    anchors: np.ndarray
    pre_nms_top_n: int = PRE_NMS_TOP_N
    post_nms_top_n: int = POST_NMS_TOP_N
    nms_thresh: float = NMS_THRESH
    min_size: float = MIN_SIZE

    def __post_init__(self) -> None:
        if len(self.inputs) != 3 or len(self.outputs) not in (1, 2):
            raise InvalidNode(self.name, "proposals take scores, deltas and im_info and give the rois (and "
                                         "their scores)")


@converts(TYPE)
def lift(layer: CaffeLayer) -> Proposal:
    output_shapes(layer, layer.bottom_shapes)
    stride, scales = layer_settings(layer)
    _, _, height, width = layer.bottom_shapes[0]
    anchors = shifted_anchors(base_anchors(scales), height, width, stride)
    return Proposal(name=layer.name, inputs=list(layer.bottoms), outputs=list(layer.tops), anchors=anchors)


# ---------------------------------------------------------------------------------------------- ONNX


def _anchor_geometry(anchors: np.ndarray) -> dict[str, np.ndarray]:
    """Each anchor's width, height and centre, in float32 as bbox_transform_inv computes them."""
    widths = anchors[:, 2] - anchors[:, 0] + np.float32(1)
    heights = anchors[:, 3] - anchors[:, 1] + np.float32(1)
    return {"widths": widths, "heights": heights, "ctr_x": anchors[:, 0] + np.float32(0.5) * widths,
            "ctr_y": anchors[:, 1] + np.float32(0.5) * heights}


@onnx_converts(Proposal)
def emit_onnx_proposal(node: Proposal, ctx: Context) -> None:
    """Standard operators: boxes decoded and clipped element-wise, small ones dropped with Compress,
    the first pre_nms_top_n by score with TopK, then NonMaxSuppression on the boxes grown by one
    pixel at the far corner (so that its overlap is the +1-pixel overlap of py-faster-rcnn)."""
    scores_in, deltas_in, im_info = node.inputs
    name, y = node.name, node.outputs[0]
    count = len(node.anchors)
    a = count // (ctx.shape(scores_in)[2] * ctx.shape(scores_in)[3])

    def op(kind: str, inputs: list[str], part: str, **attrs: object) -> str:
        out = ctx.tensor(f"{y}/{part}")
        ctx.node(kind, inputs, [out], name + out[len(y):], **attrs)
        return out

    def column(x: str, index: int, part: str) -> str:
        return op("Gather", [x, ctx.ints(f"{name}.{part}_index", [index])], part, axis=1)

    geometry = {key: ctx.const(f"{name}.{key}", value.reshape(-1, 1)) for key, value in
                _anchor_geometry(node.anchors).items()}
    fg = op("Slice", [scores_in, ctx.ints(f"{name}.fg_start", [a]), ctx.ints(f"{name}.fg_end", [2 * a]),
                      ctx.ints(f"{name}.fg_axes", [1])], "fg")
    scores = op("Reshape", [op("Transpose", [fg], "fg_hwa", perm=[0, 2, 3, 1]), ctx.ints(f"{name}.flat_scores", [-1])],
                "scores")
    deltas = op("Reshape", [op("Transpose", [deltas_in], "deltas_hwa", perm=[0, 2, 3, 1]),
                            ctx.ints(f"{name}.rows", [-1, 4])], "deltas")
    dx, dy, dw, dh = (column(deltas, i, f"d{axis}") for i, axis in enumerate("xywh"))
    ctr_x = op("Add", [op("Mul", [dx, geometry["widths"]], "dx_scaled"), geometry["ctr_x"]], "pred_ctr_x")
    ctr_y = op("Add", [op("Mul", [dy, geometry["heights"]], "dy_scaled"), geometry["ctr_y"]], "pred_ctr_y")
    half = ctx.const(f"{name}.half", 0.5)
    half_w = op("Mul", [half, op("Mul", [op("Exp", [dw], "exp_dw"), geometry["widths"]], "pred_w")], "half_w")
    half_h = op("Mul", [half, op("Mul", [op("Exp", [dh], "exp_dh"), geometry["heights"]], "pred_h")], "half_h")
    info = op("Reshape", [im_info, ctx.ints(f"{name}.info_row", [1, -1])], "info")
    one, zero = ctx.const(f"{name}.one", 1.0), ctx.const(f"{name}.zero", 0.0)
    last_row = op("Sub", [column(info, 0, "im_h"), one], "last_row")
    last_col = op("Sub", [column(info, 1, "im_w"), one], "last_col")
    corners = []
    for part, centre, extent, combine, limit in (("x1", ctr_x, half_w, "Sub", last_col),
                                                  ("y1", ctr_y, half_h, "Sub", last_row),
                                                  ("x2", ctr_x, half_w, "Add", last_col),
                                                  ("y2", ctr_y, half_h, "Add", last_row)):
        raw = op(combine, [centre, extent], f"{part}_raw")
        corners.append(op("Max", [op("Min", [raw, limit], f"{part}_below"), zero], part))
    x1, y1, x2, y2 = corners
    min_size = op("Mul", [ctx.const(f"{name}.min_size", float(node.min_size)), column(info, 2, "im_scale")],
                  "min_size")
    wide = op("GreaterOrEqual", [op("Add", [op("Sub", [x2, x1], "span_x"), one], "box_w"), min_size], "wide")
    tall = op("GreaterOrEqual", [op("Add", [op("Sub", [y2, y1], "span_y"), one], "box_h"), min_size], "tall")
    big = op("Reshape", [op("And", [wide, tall], "big_column"), ctx.ints(f"{name}.flat", [-1])], "big")
    boxes = op("Compress", [op("Concat", corners, "boxes_all", axis=1), big], "boxes", axis=0)
    kept_scores = op("Compress", [scores, big], "kept_scores", axis=0)
    k = op("Min", [op("Shape", [kept_scores], "kept_count"), ctx.ints(f"{name}.pre_nms_top_n", [node.pre_nms_top_n])],
           "k")
    top_scores, top_index = ctx.tensor(f"{y}/top_scores"), ctx.tensor(f"{y}/top_index")
    ctx.node("TopK", [kept_scores, k], [top_scores, top_index], f"{name}/top_k", axis=0, largest=1, sorted=1)
    ranked = op("Gather", [boxes, top_index], "ranked", axis=0)
    # NonMaxSuppression's boxes: [y1, x1, y2 + 1, x2 + 1] (its widths carry no +1).
    grown = op("Add", [op("Gather", [ranked, ctx.ints(f"{name}.yx_order", [1, 0, 3, 2])], "yx", axis=1),
                       ctx.const(f"{name}.grow", np.array([[0, 0, 1, 1]], np.float32))], "grown")
    nms_boxes = op("Unsqueeze", [grown, ctx.ints(f"{name}.batch_axis", [0])], "nms_boxes")
    nms_scores = op("Reshape", [top_scores, ctx.ints(f"{name}.score_shape", [1, 1, -1])], "nms_scores")
    selected = op("NonMaxSuppression", [nms_boxes, nms_scores, ctx.ints(f"{name}.post_nms_top_n",
                                                                         [node.post_nms_top_n]),
                                        ctx.const(f"{name}.nms_thresh", [float(node.nms_thresh)])], "selected")
    picked = op("Reshape", [column(selected, 2, "selected_box"), ctx.ints(f"{name}.flat_selected", [-1])],
                "selected_flat")
    chosen = op("Gather", [ranked, picked], "chosen", axis=0)
    if len(node.outputs) == 2:
        kept_scores = op("Gather", [top_scores, picked], "kept_scores", axis=0)
        ctx.node("Reshape", [kept_scores, ctx.ints(f"{name}.score_column", [-1, 1])], [node.outputs[1]],
                 f"{name}/score_column")
    rows = op("Concat", [op("Shape", [chosen], "chosen_shape", end=1) if ctx.opset >= 15 else
                         op("Slice", [op("Shape", [chosen], "chosen_shape"), ctx.ints(f"{name}.rows_start", [0]),
                                      ctx.ints(f"{name}.rows_end", [1])], "chosen_rows"),
                         ctx.ints(f"{name}.one_column", [1])], "batch_shape", axis=0)
    batch = op("ConstantOfShape", [rows], "batch_column",
               value=np.zeros(1, np.float32))
    ctx.node("Concat", [batch, chosen], [y], name, axis=1)


# ---------------------------------------------------------------------------------------------- PyTorch


PROPOSALS = Helper("Proposals", '''
class Proposals(nn.Module):
    """py-faster-rcnn's ProposalLayer at test time: anchors decoded by the deltas, clipped to the
    image, boxes under min_size * scale dropped, the best pre_nms_top_n by score, greedy NMS with
    +1-pixel overlaps above nms_thresh suppressed, at most post_nms_top_n rows [0, x1, y1, x2, y2]
    (and, with_scores, their scores as a column)."""

    def __init__(self, count, pre_nms_top_n, post_nms_top_n, nms_thresh, min_size, with_scores=False):
        super().__init__()
        self.with_scores = with_scores
        self.register_buffer("anchors", torch.zeros(count, 4))
        self.pre_nms_top_n, self.post_nms_top_n = pre_nms_top_n, post_nms_top_n
        self.nms_thresh, self.min_size = nms_thresh, min_size

    def forward(self, scores, deltas, im_info):
        a = scores.shape[1] // 2
        fg = scores[:, a:].permute(0, 2, 3, 1).reshape(-1)
        moves = deltas.permute(0, 2, 3, 1).reshape(-1, 4)
        anchors = self.anchors
        widths = anchors[:, 2] - anchors[:, 0] + 1
        heights = anchors[:, 3] - anchors[:, 1] + 1
        ctr_x = moves[:, 0] * widths + (anchors[:, 0] + 0.5 * widths)
        ctr_y = moves[:, 1] * heights + (anchors[:, 1] + 0.5 * heights)
        half_w = 0.5 * (torch.exp(moves[:, 2]) * widths)
        half_h = 0.5 * (torch.exp(moves[:, 3]) * heights)
        info = im_info.reshape(-1)
        last = torch.stack([info[1], info[0], info[1], info[0]]) - 1
        boxes = torch.stack([ctr_x - half_w, ctr_y - half_h, ctr_x + half_w, ctr_y + half_h], dim=1)
        boxes = torch.minimum(boxes, last).clamp(min=0)
        min_size = self.min_size * info[2]
        big = (boxes[:, 2] - boxes[:, 0] + 1 >= min_size) & (boxes[:, 3] - boxes[:, 1] + 1 >= min_size)
        boxes, fg = boxes[big], fg[big]
        order = torch.sort(fg, descending=True, stable=True).indices[: self.pre_nms_top_n]
        boxes = boxes[order]
        x1, y1, x2, y2 = boxes.unbind(1)
        areas = (x2 - x1 + 1) * (y2 - y1 + 1)
        suppressed = torch.zeros(len(boxes), dtype=torch.bool)
        keep = []
        for i in range(len(boxes)):
            if len(keep) == self.post_nms_top_n:
                break
            if suppressed[i]:
                continue
            keep.append(i)
            w = (torch.minimum(x2[i], x2) - torch.maximum(x1[i], x1) + 1).clamp(min=0)
            h = (torch.minimum(y2[i], y2) - torch.maximum(y1[i], y1) + 1).clamp(min=0)
            inter = w * h
            suppressed |= inter / (areas[i] + areas - inter) > self.nms_thresh
        kept = torch.tensor(keep, dtype=torch.long)
        rois = torch.cat([torch.zeros(len(keep), 1, dtype=boxes.dtype), boxes[kept]], dim=1)
        return (rois, fg[order][kept].reshape(-1, 1)) if self.with_scores else rois
''')


@torch_converts(Proposal)
def emit_torch_proposal(node: Proposal, graph: Graph) -> Built:
    code = (f"Proposals({len(node.anchors)}, {node.pre_nms_top_n}, {node.post_nms_top_n}, {number(node.nms_thresh)}, "
            f"{number(node.min_size)}, with_scores={len(node.outputs) == 2})")
    return Built(code, (PROPOSALS,), {"anchors": node.anchors})
