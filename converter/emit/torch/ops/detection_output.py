"""DetectionOutput -> the DetectionOutput helper: Caffe's algorithm in torch ops (see the IR docstring):
decode, candidates by a stable descending sort cut to top_k, then greedy suppression over candidate
ranks for every image and class at once, keep_top_k, and the rows in Caffe's order (no torchvision).
The suppression is a Python loop in eager mode and TorchScript, a while_loop under torch.export."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.emit.torch.writer import number
from converter.ir import DetectionOutput, Graph

DETECTION_OUTPUT = Helper("DetectionOutput", '''
class DetectionOutput(nn.Module):
    """SSD's detection head: rows [image, class, score, xmin, ymin, xmax, ymax] as (1, 1, R, 7); with
    no detection, one row [n, -1, ..., -1] per image. RefineDet's arm_conf drops the scores of priors
    whose objectness is below objectness_score, its arm_loc refines the priors first."""

    def __init__(self, num_classes: int, share_location: bool, background_label_id: int, code_type: str,
                 variance_encoded_in_target: bool, confidence_threshold: float, nms_threshold: float, eta: float,
                 top_k: int, keep_top_k: int, objectness_score: float = 0.01):
        super().__init__()
        self.num_classes, self.share_location = num_classes, share_location
        self.background_label_id, self.code_type = background_label_id, code_type
        self.variance_encoded_in_target = variance_encoded_in_target
        self.confidence_threshold, self.nms_threshold, self.eta = confidence_threshold, nms_threshold, eta
        self.top_k, self.keep_top_k, self.objectness_score = top_k, keep_top_k, objectness_score

    def decode(self, loc, corners, variance):
        """loc (N, P * L * 4) against prior corners (1 or N, P, 4) and variances (P, 4): (N, L, P, 4)."""
        p = corners.shape[1]
        d = loc.reshape(loc.shape[0], p, -1, 4).transpose(1, 2)
        if not self.variance_encoded_in_target:
            d = variance * d
        box = corners.unsqueeze(1)
        if self.code_type == "corner":
            return box + d
        pw, ph = box[..., 2] - box[..., 0], box[..., 3] - box[..., 1]
        if self.code_type == "corner_size":
            return box + d * torch.stack([pw, ph, pw, ph], dim=-1)
        cx = d[..., 0] * pw + (box[..., 0] + box[..., 2]) * 0.5
        cy = d[..., 1] * ph + (box[..., 1] + box[..., 3]) * 0.5
        half_w, half_h = torch.exp(d[..., 2]) * pw * 0.5, torch.exp(d[..., 3]) * ph * 0.5
        return torch.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], dim=-1)

    def suppress(self, boxes, sizes, candidate, trips: int):
        """Candidates in rank order: kept when the overlap with every kept box is <= the threshold."""
        x0, y0, x1, y1 = boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 3]
        kept = torch.zeros_like(candidate)
        limit = torch.full([candidate.shape[0], candidate.shape[1]], self.nms_threshold, dtype=torch.float32,
                           device=boxes.device)
        for i in range(trips):
            cx0, cy0, cx1, cy1 = x0[:, :, i:i + 1], y0[:, :, i:i + 1], x1[:, :, i:i + 1], y1[:, :, i:i + 1]
            apart = (x0 > cx1) | (x1 < cx0) | (y0 > cy1) | (y1 < cy0)
            width = torch.minimum(cx1, x1) - torch.maximum(cx0, x0)
            height = torch.minimum(cy1, y1) - torch.maximum(cy0, y0)
            inter = width * height
            ratio = inter / (sizes[:, :, i:i + 1] + sizes - inter)
            overlap = torch.where(~apart & (width > 0) & (height > 0), ratio, torch.zeros_like(ratio))
            blocked = (kept & ~(overlap <= limit.unsqueeze(2))).any(dim=2)
            keep = candidate[:, :, i] & ~blocked
            kept[:, :, i] = keep
            if self.eta < 1:
                limit = torch.where(keep & (limit > 0.5), limit * self.eta, limit)
        return kept

    @torch.jit.unused
    def suppress_in_graph(self, boxes, sizes, candidate):
        """suppress as a while_loop, for torch.export and torch.compile (a graph cannot run a Python
        loop whose length depends on the data): the same steps, rank by rank up to the last candidate."""
        # Higher-order ops take no aliased inputs: the coordinates as copies, not views of boxes.
        x0, y0, x1, y1 = (boxes[..., j].clone() for j in range(4))
        ranks = torch.arange(candidate.shape[2], device=boxes.device)
        trips = candidate.sum(dim=2).max()
        limit = torch.full([candidate.shape[0], candidate.shape[1]], self.nms_threshold, dtype=torch.float32,
                           device=boxes.device)

        def more(i, kept, limit):
            return i < trips

        def step(i, kept, limit):
            index = i.reshape(1)
            cx0, cy0, cx1, cy1, size = (v.index_select(2, index) for v in (x0, y0, x1, y1, sizes))
            apart = (x0 > cx1) | (x1 < cx0) | (y0 > cy1) | (y1 < cy0)
            width = torch.minimum(cx1, x1) - torch.maximum(cx0, x0)
            height = torch.minimum(cy1, y1) - torch.maximum(cy0, y0)
            inter = width * height
            ratio = inter / (size + sizes - inter)
            overlap = torch.where(~apart & (width > 0) & (height > 0), ratio, torch.zeros_like(ratio))
            blocked = (kept & ~(overlap <= limit.unsqueeze(2))).any(dim=2)
            keep = candidate.index_select(2, index).squeeze(2) & ~blocked
            if self.eta < 1:
                limit = torch.where(keep & (limit > 0.5), limit * self.eta, limit)
            return i + 1, kept | (keep.unsqueeze(2) & (ranks == i)), limit.clone()

        start = torch.zeros((), dtype=torch.int64, device=boxes.device)
        return torch.while_loop(more, step, (start, torch.zeros_like(candidate), limit))[1]

    def forward(self, loc, conf, prior, arm_conf: torch.Tensor | None = None, arm_loc: torch.Tensor | None = None):
        n, p, c = loc.shape[0], prior.shape[2] // 4, self.num_classes
        priors = prior.reshape(2, p, 4)
        corners, variance = priors[0:1], priors[1]
        if arm_loc is not None:
            corners = self.decode(arm_loc, corners, variance)[:, 0]
        coords = self.decode(loc, corners, variance)
        x0, y0, x1, y1 = coords[..., 0], coords[..., 1], coords[..., 2], coords[..., 3]
        size = torch.where((x1 < x0) | (y1 < y0), torch.zeros_like(x0), (x1 - x0) * (y1 - y0))
        scores = conf.reshape(n, p, c)
        if arm_conf is not None:
            easy = arm_conf.reshape(n, p, 2)[:, :, 1:] < torch.tensor(self.objectness_score, dtype=torch.float32)
            first = (torch.arange(c, device=conf.device) == 0).to(scores.dtype)
            scores = torch.where(easy, first, scores)
        scores = scores.transpose(1, 2)
        threshold = torch.tensor(self.confidence_threshold, dtype=torch.float32)
        valid = scores > threshold
        if 0 <= self.background_label_id < c:
            valid[:, self.background_label_id] = False
        masked = torch.where(valid, scores, torch.full_like(scores, float("-inf")))
        k = p if self.top_k < 0 else min(self.top_k, p)
        top, ranks = torch.sort(masked, dim=2, descending=True, stable=True)
        top, ranks = top[:, :, :k], ranks[:, :, :k]
        boxes = coords.expand(n, c, p, 4).gather(2, ranks.unsqueeze(-1).expand(n, c, k, 4))
        sizes = size.expand(n, c, p).gather(2, ranks)
        candidate = top > threshold
        if not torch.jit.is_scripting() and torch.compiler.is_compiling():
            kept = self.suppress_in_graph(boxes, sizes, candidate)
        else:
            trips = int(candidate.sum(dim=2).max()) if candidate.numel() > 0 else 0
            kept = self.suppress(boxes, sizes, candidate, trips)
        final = kept.reshape(n, c * k)
        scores_flat = top.reshape(n, c * k)
        if -1 < self.keep_top_k < c * k:
            ranked = torch.where(final, scores_flat, torch.full_like(scores_flat, float("-inf")))
            best = torch.sort(ranked, dim=1, descending=True, stable=True)[1][:, :self.keep_top_k]
            final = final & torch.zeros_like(final).scatter(1, best, torch.ones_like(best, dtype=torch.bool))
        where = final.nonzero()
        image, slot = where[:, 0], where[:, 1]
        found = torch.cat([image.unsqueeze(1).float(), (slot // k).unsqueeze(1).float(),
                           scores_flat[image, slot].unsqueeze(1), boxes.reshape(n, c * k, 4)[image, slot]], dim=1)
        # No detection at all: Caffe's N rows [n, -1, ..., -1] (chosen by a mask, not a branch on R).
        images = torch.arange(n, dtype=torch.float32, device=loc.device).unsqueeze(1)
        fallback = torch.cat([images, torch.full([n, 6], -1.0, device=loc.device)], dim=1)
        chosen = torch.cat([torch.ones_like(image, dtype=torch.bool), (~final.any()).expand(n)])
        return torch.cat([found, fallback])[chosen].reshape(1, 1, -1, 7)
''')


@converts(DetectionOutput)
def detection_output(node: DetectionOutput, graph: Graph) -> Built:
    return Built(f"DetectionOutput({node.num_classes}, {node.share_location}, {node.background_label_id}, "
                 f"{node.code_type!r}, {node.variance_encoded_in_target}, {number(node.confidence_threshold)}, "
                 f"{number(node.nms_threshold)}, {number(node.eta)}, {node.top_k}, {node.keep_top_k}"
                 f"{'' if len(node.inputs) == 3 else ', ' + number(node.objectness_score)})",
                 (DETECTION_OUTPUT,))
