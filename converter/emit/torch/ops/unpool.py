"""Unpool -> the UnpoolByMask helper: the last writer of each output cell found with
scatter_reduce's "amax" over the cell numbers 1..H*W (deterministic, unlike scatter_ with repeated
indices), then its value gathered; 0 where no cell writes."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Graph, Unpool

UNPOOL_BY_MASK = Helper("UnpoolByMask", '''
class UnpoolByMask(nn.Module):
    """Max unpooling: out[n, c, int(mask[i])] = x[n, c, i] on a zero (out_h, out_w) plane, the last
    cell i in row-major order winning when several name one index."""

    def __init__(self, out_hw):
        super().__init__()
        self.out_hw = out_hw

    def forward(self, x, mask):
        n, c = x.shape[0], x.shape[1]
        data = x.reshape(n, c, -1)
        index = mask.reshape(n, c, -1).long()
        order = torch.arange(1, data.shape[2] + 1, device=x.device).expand_as(index)
        plane = torch.zeros(n, c, self.out_hw[0] * self.out_hw[1], dtype=torch.long, device=x.device)
        winner = plane.scatter_reduce(2, index, order, "amax")
        picked = data.gather(2, (winner - 1).clamp(min=0))
        out = torch.where(winner > 0, picked, torch.zeros_like(picked))
        return out.reshape(n, c, self.out_hw[0], self.out_hw[1])
''')


@converts(Unpool)
def unpool(node: Unpool, graph: Graph) -> Built:
    return Built(f"UnpoolByMask({tuple(node.out_hw)})", (UNPOOL_BY_MASK,))
