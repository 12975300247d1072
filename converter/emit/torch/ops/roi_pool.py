"""RoiPool -> the RoiMaxPool helper (torch ops only, no torchvision): the bin edges of every roi
at once, in float32 as the IR says, then the maximum over each bin column and then each bin row
through masks (cells outside the bin read -FLT_MAX); empty bins give 0."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.emit.torch.writer import number
from converter.ir import Graph, RoiPool

ROI_MAX_POOL = Helper("RoiMaxPool", '''
class RoiMaxPool(nn.Module):
    """Fast R-CNN's ROI max pooling of x (N, C, H, W) over rois (R, 5) = [batch, x1, y1, x2, y2]:
    corners times spatial_scale rounded half away from zero, bins floor(i * size / pooled) to
    ceil((i + 1) * size / pooled) clipped to the plane, maxima not below -FLT_MAX, 0 for empty bins."""

    def __init__(self, pooled, spatial_scale):
        super().__init__()
        self.pooled, self.spatial_scale = pooled, spatial_scale

    def _bins(self, start, size, pooled, limit):
        index = torch.arange(pooled + 1, dtype=torch.float32, device=start.device)
        bin_size = size / pooled
        first = (torch.floor(index[:-1] * bin_size[:, None]) + start[:, None]).clamp(0, limit)
        last = (torch.ceil(index[1:] * bin_size[:, None]) + start[:, None]).clamp(0, limit)
        cells = torch.arange(limit, dtype=torch.float32, device=start.device)
        inside = (cells >= first[:, :, None]) & (cells < last[:, :, None])
        return inside, last <= first

    def forward(self, x, rois):
        rois = rois.reshape(-1, 5)
        lowest = torch.finfo(x.dtype).min
        features = x[rois[:, 0].long()]
        scaled = (rois[:, 1:] * torch.tensor(self.spatial_scale, dtype=torch.float32)).double()
        corners = (torch.sign(scaled) * torch.floor(scaled.abs() + 0.5)).float()
        size = (corners[:, 2:] - corners[:, :2] + 1).clamp(min=1)
        in_rows, empty_rows = self._bins(corners[:, 1], size[:, 1], self.pooled[0], x.shape[2])
        in_cols, empty_cols = self._bins(corners[:, 0], size[:, 0], self.pooled[1], x.shape[3])
        by_column = torch.stack([
            torch.where(in_cols[:, j, None, None, :], features, torch.full_like(features, lowest)).amax(3)
            for j in range(self.pooled[1])], dim=3)
        pooled = torch.stack([
            torch.where(in_rows[:, i, None, :, None], by_column, torch.full_like(by_column, lowest)).amax(2)
            for i in range(self.pooled[0])], dim=2).clamp(min=lowest)
        empty = (empty_rows[:, :, None] | empty_cols[:, None, :])[:, None]
        return torch.where(empty, torch.zeros_like(pooled), pooled)
''')


@converts(RoiPool)
def roi_pool(node: RoiPool, graph: Graph) -> Built:
    return Built(f"RoiMaxPool({tuple(node.pooled)}, {number(node.spatial_scale)})", (ROI_MAX_POOL,))
