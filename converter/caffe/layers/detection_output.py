"""DetectionOutput (SSD fork): decode the location predictions against the priors, run per-class
non-maximum suppression, keep the best detections of each image.

Bottoms: loc (N, num_priors * num_loc_classes * 4), conf (N, num_priors * num_classes, already
softmaxed), priors (1, 2, num_priors * 4) as PriorBox writes them; num_loc_classes is 1 with
`share_location` (default), else num_classes.

Per image, per class other than `background_label_id` (ApplyNMSFast): the priors whose score is
above `confidence_threshold` (unset: all but -inf and NaN), sorted by score descending (stable:
ties in prior order), cut to nms_param.top_k; then each in turn is kept when its Jaccard overlap
with every box kept before it is <= the adaptive threshold (nms_threshold, multiplied by eta after
each kept box while it is above 0.5). Overlap: intersection / (size1 + size2 - intersection) with
each box's size (xmax - xmin) * (ymax - ymin), 0 for a box with xmax < xmin or ymax < ymin, and 0
whenever the intersection's width or height is not positive. If the image keeps more than
`keep_top_k` (> -1) detections, the keep_top_k of highest score over all classes stay (Caffe's
std::sort leaves the order of equal scores unspecified; here the earlier class and earlier kept
box win).

RefineDet (sfzhang15/RefineDet, a fork of the SSD fork) adds two bottoms: arm_conf (N, num_priors
* 2, the anchor refinement module's softmaxed background/object scores) and arm_loc (N, num_priors *
4). With arm_conf (OSGetConfidenceScores), a prior whose objectness arm_conf[2p + 1] is below
`objectness_score` (strictly; NaN is not below) gets the scores [1, 0, 0, ...] (class 0 scores 1,
whatever background_label_id says) in place of its conf row. With arm_loc too (CasRegDecodeBBoxesAll),
each image's priors are first refined, decoded from arm_loc as a loc prediction against the priors,
and the loc predictions are decoded against those refined boxes (with the priors' variances). The
fork reads arm_loc only with `share_location`. The SSD fork's own DetectionOutput takes a fourth
bottom only to draw on (`visualize`); a fourth bottom is RefineDet's arm_conf when the layer sets
`objectness_score` (a RefineDet field), and a fourth bottom shaped as an arm_conf without it is
refused as ambiguous.

Top: (1, 1, R, 7), one row [image, label, score, xmin, ymin, xmax, ymax] per kept detection, by
image, then label ascending, then score descending; boxes are not clipped. With no detection at
all the top is (1, 1, N, 7) of -1 with column 0 the image index. Caffe's Reshape gives (1, 1, 1, 7)
before the forward pass; R is known only at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from converter.caffe.layers import ScoredRows, register
from converter.caffe.layers.common import count, expect_count, fail
from converter.caffe.net import CaffeLayer, Shape

FLT_MAX = float(np.finfo(np.float32).max)
CODE_TYPES = {1: "corner", 2: "center_size", 3: "corner_size"}  # PriorBoxParameter.CodeType


@dataclass(frozen=True)
class DetectionSettings:
    num_classes: int
    share_location: bool
    background_label_id: int
    code_type: str
    variance_encoded_in_target: bool
    confidence_threshold: float
    nms_threshold: float
    eta: float
    top_k: int  # -1: all candidates
    keep_top_k: int  # -1: all detections
    objectness_score: float = 0.01  # RefineDet, with an arm_conf bottom

    @property
    def num_loc_classes(self) -> int:
        return 1 if self.share_location else self.num_classes


def settings(layer: CaffeLayer) -> DetectionSettings:
    """DetectionOutputLayer::LayerSetUp's reading of the parameters, with its checks."""
    p = layer.param.detection_output_param
    if not p.HasField("num_classes"):
        raise fail(layer, "DetectionOutput must specify num_classes")
    nms = p.nms_param
    if not nms.nms_threshold >= 0:
        raise fail(layer, f"nms_threshold must be non negative, got {nms.nms_threshold}")
    if not 0 < nms.eta <= 1:
        raise fail(layer, f"eta must lie in (0, 1], got {nms.eta}")
    if int(p.code_type) not in CODE_TYPES:
        raise fail(layer, f"unknown code_type {p.code_type}")
    threshold = float(p.confidence_threshold) if p.HasField("confidence_threshold") else -FLT_MAX
    return DetectionSettings(int(p.num_classes), bool(p.share_location), int(p.background_label_id),
                             CODE_TYPES[int(p.code_type)], bool(p.variance_encoded_in_target), threshold,
                             float(nms.nms_threshold), float(nms.eta), int(nms.top_k) if nms.HasField("top_k") else -1,
                             int(p.keep_top_k), float(p.objectness_score))


def num_priors(layer: CaffeLayer, bottoms: list[Shape]) -> int:
    """DetectionOutputLayer::Reshape: the priors bottom's height / 4, checked against loc and conf
    (and RefineDet's arm_conf and arm_loc, which the fork reads unchecked)."""
    expect_count(layer, bottoms, bottoms_n=(3, 5))
    s = settings(layer)
    loc, conf, prior = bottoms[:3]
    if len(prior) < 3 or prior[:2] != (1, 2) or len(prior) > 3 and count(prior, 3) != 1:
        raise fail(layer, f"the priors bottom must have shape (1, 2, num_priors * 4), got {list(prior)}")
    priors = prior[2] // 4
    if loc[0] != conf[0]:
        raise fail(layer, f"loc and conf bottoms have different batch sizes: {list(loc)} and {list(conf)}")
    for what, shape, per_prior in (("location", loc, s.num_loc_classes * 4), ("confidence", conf, s.num_classes)):
        if len(shape) < 2 or shape[1] != priors * per_prior or count(shape, 1) != shape[1]:
            raise fail(layer, f"number of priors ({priors}) must match number of {what} predictions: "
                              f"expected (N, {priors * per_prior}), got {list(shape)}")
    arm = arm_bottoms(layer, bottoms, priors)
    if arm == 2 and not s.share_location:
        raise fail(layer, "RefineDet's DetectionOutput reads arm_loc (the fifth bottom) only with share_location")
    for what, shape, per_prior in zip(("arm_conf", "arm_loc"), bottoms[3:3 + arm], (2, 4), strict=False):
        if shape[0] != loc[0] or count(shape, 1) != priors * per_prior:
            raise fail(layer, f"RefineDet's {what} bottom must have shape ({loc[0]}, {priors * per_prior}), "
                              f"got {list(shape)}")
    return priors


def arm_bottoms(layer: CaffeLayer, bottoms: list[Shape], priors: int) -> int:
    """How many of RefineDet's bottoms (arm_conf, arm_loc) the layer reads: 0, 1 or 2."""
    if len(bottoms) != 4:
        return max(0, len(bottoms) - 3)
    if layer.param.detection_output_param.HasField("objectness_score"):
        return 1
    if count(bottoms[3], 1) == priors * 2:
        raise fail(layer, "a fourth bottom shaped as RefineDet's arm_conf, without objectness_score: RefineDet "
                          "reads it as the anchors' objectness, the SSD fork only draws on it (visualize); set "
                          "objectness_score (RefineDet's default is 0.01) or drop the bottom (SSD)")
    return 0


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    num_priors(layer, bottoms)
    return [(1, 1, 1, 7)]


def decode_boxes(s: DetectionSettings, loc: np.ndarray, prior: np.ndarray,
                 arm_loc: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """DecodeBBox for every image, prior and loc class: boxes (N, P, L, 4) and their sizes (N, P, L),
    in float32 as Caffe computes them (its `/ 2.` steps in double). With RefineDet's arm_loc the
    priors are first refined per image (CasRegDecodeBBoxesAll)."""
    n = loc.shape[0]
    p = prior.shape[2] // 4
    pb = np.asarray(prior, np.float32).reshape(2, p, 4)[0][None, :, None, :]
    var = np.asarray(prior, np.float32).reshape(2, p, 4)[1][None, :, None, :]
    with np.errstate(invalid="ignore", over="ignore"):
        if arm_loc is not None:
            pb = _decode(s, np.asarray(arm_loc, np.float32).reshape(n, p, 1, 4), pb, var)
        boxes = _decode(s, np.asarray(loc, np.float32).reshape(n, p, s.num_loc_classes, 4), pb, var)
        sizes = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    invalid = (boxes[..., 2] < boxes[..., 0]) | (boxes[..., 3] < boxes[..., 1])
    return boxes, np.where(invalid, np.float32(0), sizes).astype(np.float32)


def _decode(s: DetectionSettings, boxes_in: np.ndarray, pb: np.ndarray, var: np.ndarray) -> np.ndarray:
    """DecodeBBox of the predictions (N, P, L, 4) against the prior corners and variances
    (broadcasting to (N, P, L, 4)): the decoded corners."""
    f32, f64 = np.float32, np.float64
    if not s.variance_encoded_in_target:
        var_x, var_y, var_w, var_h = (var[..., i] for i in range(4))
    else:
        var_x = var_y = var_w = var_h = None
    dx, dy, dw, dh = (boxes_in[..., i] for i in range(4))

    def scaled(v: np.ndarray | None, d: np.ndarray) -> np.ndarray:
        return d if v is None else (v * d).astype(f32)

    if s.code_type == "corner":
        out = [pb[..., 0] + scaled(var_x, dx), pb[..., 1] + scaled(var_y, dy),
               pb[..., 2] + scaled(var_w, dw), pb[..., 3] + scaled(var_h, dh)]
    else:
        prior_w, prior_h = pb[..., 2] - pb[..., 0], pb[..., 3] - pb[..., 1]
        if s.code_type == "corner_size":
            out = [pb[..., 0] + scaled(var_x, dx) * prior_w, pb[..., 1] + scaled(var_y, dy) * prior_h,
                   pb[..., 2] + scaled(var_w, dw) * prior_w, pb[..., 3] + scaled(var_h, dh) * prior_h]
        else:
            center_x = (pb[..., 0] + pb[..., 2]) / f32(2)
            center_y = (pb[..., 1] + pb[..., 3]) / f32(2)
            with np.errstate(over="ignore"):
                cx = scaled(var_x, dx) * prior_w + center_x
                cy = scaled(var_y, dy) * prior_h + center_y
                w = np.exp(scaled(var_w, dw)) * prior_w
                h = np.exp(scaled(var_h, dh)) * prior_h
            half_w, half_h = w.astype(f64) / 2.0, h.astype(f64) / 2.0
            with np.errstate(invalid="ignore"):
                out = [cx - half_w, cy - half_h, cx + half_w, cy + half_h]
    return np.stack([np.asarray(v).astype(f32) for v in out], axis=-1)


def _overlaps(box: np.ndarray, size: np.float32, others: np.ndarray, other_sizes: np.ndarray) -> np.ndarray:
    """JaccardOverlap(box, each of others), normalized, with the stored sizes."""
    f32 = np.float32
    apart = ((others[:, 0] > box[2]) | (others[:, 2] < box[0]) | (others[:, 1] > box[3]) | (others[:, 3] < box[1]))
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        width = np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0])
        height = np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1])
        inter = (width * height).astype(f32)
        ratio = inter / ((size + other_sizes).astype(f32) - inter)
    return np.where(~apart & (width > 0) & (height > 0), ratio, f32(0))


def apply_nms_fast(s: DetectionSettings, boxes: np.ndarray, sizes: np.ndarray, scores: np.ndarray) -> list[int]:
    """ApplyNMSFast for one image and class: the kept prior indices, in the order kept."""
    candidates = [i for i in np.flatnonzero(scores > np.float32(s.confidence_threshold))]
    candidates.sort(key=lambda i: -scores[i])  # stable: ties keep the prior order
    if s.top_k > -1:
        candidates = candidates[: s.top_k]
    threshold = np.float32(s.nms_threshold)
    kept: list[int] = []
    for index in candidates:
        keep = True
        if kept:
            overlap = _overlaps(boxes[index], sizes[index], boxes[kept], sizes[kept])
            keep = bool(np.all(overlap <= threshold))
        if keep:
            kept.append(int(index))
            if s.eta < 1 and threshold > 0.5:
                threshold = np.float32(threshold * np.float32(s.eta))
    return kept


def objectness_filtered(s: DetectionSettings, conf: np.ndarray, arm_conf: np.ndarray) -> np.ndarray:
    """OSGetConfidenceScores: scores (N, P, C), a prior whose ARM objectness is below
    objectness_score scoring 1 for class 0 and 0 for the others."""
    n = conf.shape[0]
    scores = np.asarray(conf, np.float32).reshape(n, -1, s.num_classes)
    objectness = np.asarray(arm_conf, np.float32).reshape(n, -1, 2)[:, :, 1]
    easy = np.zeros(s.num_classes, np.float32)
    easy[0] = 1
    return np.where((objectness < np.float32(s.objectness_score))[:, :, None], easy, scores)


def detect(s: DetectionSettings, loc: np.ndarray, conf: np.ndarray, prior: np.ndarray,
           arm_conf: np.ndarray | None = None, arm_loc: np.ndarray | None = None) -> np.ndarray:
    """DetectionOutputLayer::Forward_cpu: the (1, 1, R, 7) top."""
    n = loc.shape[0]
    boxes, sizes = decode_boxes(s, loc, prior, arm_loc)
    if arm_conf is None:
        scores = np.asarray(conf, np.float32).reshape(n, -1, s.num_classes)
    else:
        scores = objectness_filtered(s, conf, arm_conf)
    rows: list[list[float]] = []
    for image in range(n):
        kept: dict[int, list[int]] = {}
        for label in range(s.num_classes):
            if label == s.background_label_id:
                continue
            loc_class = 0 if s.share_location else label
            kept[label] = apply_nms_fast(s, boxes[image, :, loc_class], sizes[image, :, loc_class],
                                         scores[image, :, label])
        total = sum(len(v) for v in kept.values())
        if s.keep_top_k > -1 and total > s.keep_top_k:
            pairs = [(scores[image, i, label], label, i) for label, indices in kept.items() for i in indices]
            pairs.sort(key=lambda pair: -pair[0])
            kept = {}
            for _, label, i in pairs[: s.keep_top_k]:
                kept.setdefault(label, []).append(i)
        for label in sorted(kept):
            loc_class = 0 if s.share_location else label
            for i in kept[label]:
                rows.append([image, label, scores[image, i, label], *boxes[image, i, loc_class]])
    if not rows:
        empty = np.full((1, 1, n, 7), -1, np.float32)
        empty[0, 0, :, 0] = np.arange(n)
        return empty
    return np.array(rows, np.float32).reshape(1, 1, len(rows), 7)


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    shapes = [tuple(x.shape) for x in inputs]
    arm = arm_bottoms(layer, shapes, num_priors(layer, shapes))
    return [detect(settings(layer), *inputs[:3 + arm])]


register("DetectionOutput", output_shapes=output_shapes, forward=forward,
         scored_rows=ScoredRows(group=(0, 1), score=2))
