"""DetectionOutput -> the DetectionOutput helper: Caffe's algorithm in torch ops (see the IR docstring):
decode, candidates by a stable descending sort cut to top_k, then greedy suppression over candidate
ranks for every image and class at once, keep_top_k, and the rows in Caffe's order (no torchvision)."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.emit.torch.writer import number
from converter.ir import DetectionOutput, Graph

DETECTION_OUTPUT = Helper("DetectionOutput", '''
class DetectionOutput(nn.Module):
    """SSD's detection head: rows [image, class, score, xmin, ymin, xmax, ymax] as (1, 1, R, 7); with
    no detection, one row [n, -1, ..., -1] per image."""

    def __init__(self, num_classes, share_location, background_label_id, code_type, variance_encoded_in_target,
                 confidence_threshold, nms_threshold, eta, top_k, keep_top_k):
        super().__init__()
        self.num_classes, self.share_location = num_classes, share_location
        self.background_label_id, self.code_type = background_label_id, code_type
        self.variance_encoded_in_target = variance_encoded_in_target
        self.confidence_threshold, self.nms_threshold, self.eta = confidence_threshold, nms_threshold, eta
        self.top_k, self.keep_top_k = top_k, keep_top_k

    def decode(self, loc, prior):
        """Boxes (N, L, P, 4) and their sizes (N, L, P); size 0 where xmax < xmin or ymax < ymin."""
        n, p = loc.shape[0], prior.shape[2] // 4
        d = loc.reshape(n, p, -1, 4).transpose(1, 2)
        box, variance = prior.reshape(2, p, 4).unbind(0)
        if not self.variance_encoded_in_target:
            d = variance * d
        if self.code_type == "corner":
            coords = box + d
        else:
            pw, ph = box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]
            if self.code_type == "corner_size":
                coords = box + d * torch.stack([pw, ph, pw, ph], dim=1)
            else:
                cx = d[..., 0] * pw + (box[:, 0] + box[:, 2]) * 0.5
                cy = d[..., 1] * ph + (box[:, 1] + box[:, 3]) * 0.5
                half_w, half_h = torch.exp(d[..., 2]) * pw * 0.5, torch.exp(d[..., 3]) * ph * 0.5
                coords = torch.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], dim=-1)
        x0, y0, x1, y1 = coords.unbind(-1)
        size = torch.where((x1 < x0) | (y1 < y0), torch.zeros_like(x0), (x1 - x0) * (y1 - y0))
        return coords, size

    def suppress(self, boxes, sizes, candidate):
        """Candidates in rank order: kept when the overlap with every kept box is <= the threshold."""
        x0, y0, x1, y1 = boxes.unbind(-1)
        kept = torch.zeros_like(candidate)
        limit = torch.full(candidate.shape[:2], self.nms_threshold, dtype=torch.float32)
        trips = int(candidate.sum(dim=2).max()) if candidate.numel() else 0
        for i in range(trips):
            cx0, cy0, cx1, cy1, size = (v[:, :, i:i + 1] for v in (x0, y0, x1, y1, sizes))
            apart = (x0 > cx1) | (x1 < cx0) | (y0 > cy1) | (y1 < cy0)
            width = torch.minimum(cx1, x1) - torch.maximum(cx0, x0)
            height = torch.minimum(cy1, y1) - torch.maximum(cy0, y0)
            inter = width * height
            ratio = inter / (size + sizes - inter)
            overlap = torch.where(~apart & (width > 0) & (height > 0), ratio, torch.zeros_like(ratio))
            blocked = (kept & ~(overlap <= limit.unsqueeze(2))).any(dim=2)
            keep = candidate[:, :, i] & ~blocked
            kept[:, :, i] = keep
            if self.eta < 1:
                limit = torch.where(keep & (limit > 0.5), limit * self.eta, limit)
        return kept

    def forward(self, loc, conf, prior):
        n, p, c = loc.shape[0], prior.shape[2] // 4, self.num_classes
        coords, size = self.decode(loc, prior)
        scores = conf.reshape(n, p, c).transpose(1, 2)
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
        final = self.suppress(boxes, sizes, top > threshold).reshape(n, c * k)
        scores_flat = top.reshape(n, c * k)
        if -1 < self.keep_top_k < c * k:
            ranked = torch.where(final, scores_flat, torch.full_like(scores_flat, float("-inf")))
            best = torch.sort(ranked, dim=1, descending=True, stable=True)[1][:, :self.keep_top_k]
            final = final & torch.zeros_like(final).scatter(1, best, True)
        image, slot = final.nonzero(as_tuple=True)
        if image.numel() == 0:
            rows = torch.full((n, 7), -1.0)
            rows[:, 0] = torch.arange(n, dtype=torch.float32)
        else:
            box = boxes.reshape(n, c * k, 4)[image, slot]
            rows = torch.cat([image[:, None].float(), (slot // k)[:, None].float(), scores_flat[image, slot][:, None],
                              box], dim=1)
        return rows.reshape(1, 1, -1, 7)
''')


@converts(DetectionOutput)
def detection_output(node: DetectionOutput, graph: Graph) -> Built:
    return Built(f"DetectionOutput({node.num_classes}, {node.share_location}, {node.background_label_id}, "
                 f"{node.code_type!r}, {node.variance_encoded_in_target}, {number(node.confidence_threshold)}, "
                 f"{number(node.nms_threshold)}, {number(node.eta)}, {node.top_k}, {node.keep_top_k})",
                 (DETECTION_OUTPUT,))
