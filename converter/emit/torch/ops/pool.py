"""Pool -> nn.MaxPool2d / nn.AvgPool2d with ceil_mode when PyTorch's rounding gives the IR's windows,
else the CaffePool helper (explicit padding); global pooling -> adaptive pooling to 1x1. A max Pool
with an argmax mask -> the MaxPoolWithMask helper.

PyTorch's ceil_mode drops a last window that would start in the end padding and caps the divisor at
input + pad, which is the IR's `extra_end` (never counted) exactly when the output sizes agree.
"""

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Graph, Pool

CAFFE_POOL = Helper("CaffePool", '''
class CaffePool(nn.Module):
    """Pooling with explicit padding: `pad` on each side (counted by average pooling), then
    `extra` cells at the bottom/right that are never counted. A max window holding no input cell
    gives the lowest float, as Caffe's does."""

    def __init__(self, kind, kernel, stride, pad, extra):
        super().__init__()
        self.kind, self.kernel, self.stride, self.pad, self.extra = kind, kernel, stride, pad, extra

    def forward(self, x):
        (ph, pw), (eh, ew) = self.pad, self.extra
        if self.kind == "max":
            x = F.pad(x, (pw, pw + ew, ph, ph + eh), value=torch.finfo(x.dtype).min)
            return F.max_pool2d(x, self.kernel, self.stride)
        x = F.pad(x, (pw, pw + ew, ph, ph + eh))
        ones = F.pad(torch.ones_like(x[:1, :1, : x.shape[2] - eh, : x.shape[3] - ew]), (0, ew, 0, eh))
        total = F.avg_pool2d(x, self.kernel, self.stride, divisor_override=1)
        count = F.avg_pool2d(ones, self.kernel, self.stride, divisor_override=1)
        return total / count
''')


MAX_POOL_WITH_MASK = Helper("MaxPoolWithMask", '''
class MaxPoolWithMask(nn.Module):
    """Max pooling over the input padded by `pad` on each side and `extra` at the bottom/right with
    the lowest float (padding never wins), also returning the argmax mask: per output cell, the
    index h * W + w in the unpadded input plane of the first cell (row-major) holding the window's
    maximum, as a float; -1 where no cell is above the lowest float."""

    def __init__(self, kernel, stride, pad, extra):
        super().__init__()
        self.kernel, self.stride, self.pad, self.extra = kernel, stride, pad, extra

    def forward(self, x):
        (ph, pw), (eh, ew) = self.pad, self.extra
        lowest = torch.finfo(x.dtype).min
        padded = F.pad(x, (pw, pw + ew, ph, ph + eh), value=lowest)
        y, index = F.max_pool2d(padded, self.kernel, self.stride, return_indices=True)
        row, col = index // padded.shape[3] - ph, index % padded.shape[3] - pw
        mask = (row * x.shape[3] + col).to(x.dtype)
        return y, torch.where(y > lowest, mask, torch.full_like(mask, -1))
''')


def _torch_ceil_size(size: int, k: int, s: int, p: int) -> int:
    """PyTorch's output size with ceil_mode=True."""
    out = -(-(size + 2 * p - k) // s) + 1
    return out - 1 if (out - 1) * s >= size + p else out


@converts(Pool)
def pool(node: Pool, graph: Graph) -> Built:
    if node.mask:
        if node.global_pool:
            kernel, stride, pad, extra = graph.tensors[node.inputs[0]].shape[2:], (1, 1), (0, 0), (0, 0)
        else:
            kernel, stride, pad, extra = node.kernel, node.stride, node.pad, node.extra_end
        return Built(f"MaxPoolWithMask({tuple(kernel)}, {stride}, {pad}, {extra})", (MAX_POOL_WITH_MASK,))
    if node.global_pool:
        return Built(f"nn.Adaptive{'Max' if node.kind == 'max' else 'Avg'}Pool2d((1, 1))")
    in_hw = graph.tensors[node.inputs[0]].shape[2:]
    node.check_windows(in_hw)
    out_hw = graph.tensors[node.outputs[0]].shape[2:]
    native = all(_torch_ceil_size(i, k, s, p) == o and p <= k // 2
                 for i, o, k, s, p in zip(in_hw, out_hw, node.kernel, node.stride, node.pad, strict=True))
    if native:
        k, s, p = (v[0] if v[0] == v[1] else v for v in (node.kernel, node.stride, node.pad))
        pad = f", padding={p}" if p not in (0, (0, 0)) else ""
        if node.kind == "max":
            return Built(f"nn.MaxPool2d(kernel_size={k}, stride={s}{pad}, ceil_mode=True)")
        return Built(f"nn.AvgPool2d(kernel_size={k}, stride={s}{pad}, ceil_mode=True, count_include_pad=True)")
    code = f"CaffePool({node.kind!r}, {node.kernel}, {node.stride}, {node.pad}, {node.extra_end})"
    return Built(code, (CAFFE_POOL,))
