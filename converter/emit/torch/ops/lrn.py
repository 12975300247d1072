"""Lrn -> nn.LocalResponseNorm across channels (same formula and, for Caffe's odd sizes, the same
window); within a channel, the LrnWithinChannel helper (mean of squares over a zero-padded window)."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.emit.torch.writer import number
from converter.ir import Graph, Lrn

LRN_WITHIN_CHANNEL = Helper("LrnWithinChannel", '''
class LrnWithinChannel(nn.Module):
    """x / (1 + alpha * mean of x^2 over a size x size window)^beta."""

    def __init__(self, size, alpha, beta):
        super().__init__()
        self.size, self.alpha, self.beta = size, alpha, beta

    def forward(self, x):
        pad = (self.size - 1) // 2
        mean = F.avg_pool2d(x * x, self.size, 1, pad, count_include_pad=True)
        return x / (1 + self.alpha * mean).pow(self.beta)
''')


@converts(Lrn)
def lrn(node: Lrn, graph: Graph) -> Built:
    if node.across_channels:
        return Built(f"nn.LocalResponseNorm({node.size}, alpha={number(node.alpha)}, beta={number(node.beta)}, "
                     f"k={number(node.k)})")
    return Built(f"LrnWithinChannel({node.size}, {number(node.alpha)}, {number(node.beta)})", (LRN_WITHIN_CHANNEL,))
