"""ArgMax -> the TopKIndices helper: a stable descending sort of the axis reversed, so that of equal
values the higher index comes first (torch.topk does not promise an order for ties)."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import ArgMax, Graph

TOP_K_INDICES = Helper("TopKIndices", '''
class TopKIndices(nn.Module):
    """Indices (as floats) or values of the k largest entries along `axis`, or over each sample
    flattened when axis is None ((N, 1 or 2, k, 1, ...): indices, then values); ties: higher index first."""

    def __init__(self, axis, k, out_max_val, rank):
        super().__init__()
        self.axis, self.k, self.out_max_val, self.rank = axis, k, out_max_val, rank

    def forward(self, x):
        dim = 1 if self.axis is None else self.axis
        values = x.flatten(1) if self.axis is None else x
        ordered, order = torch.sort(values.flip(dim), dim=dim, descending=True, stable=True)
        top, order = ordered.narrow(dim, 0, self.k), order.narrow(dim, 0, self.k)
        indices = (values.shape[dim] - 1 - order).to(x.dtype)
        if self.axis is not None:
            return top if self.out_max_val else indices
        parts = [indices, top] if self.out_max_val else [indices]
        return torch.stack(parts, 1).reshape(x.shape[0], len(parts), self.k, *([1] * (self.rank - 3)))
''')


@converts(ArgMax)
def argmax(node: ArgMax, graph: Graph) -> Built:
    rank = len(graph.tensors[node.outputs[0]].shape)
    return Built(f"TopKIndices({node.axis}, {node.top_k}, {node.out_max_val}, {rank})", (TOP_K_INDICES,))
