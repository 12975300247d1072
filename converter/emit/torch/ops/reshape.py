"""Reshape -> the Reshape helper (a 0 copies the input's dim, one -1 is inferred) with the IR's target,
already written to hold for any batch size."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Graph, Reshape

RESHAPE = Helper("Reshape", '''
class Reshape(nn.Module):
    """Reshape; a 0 copies the input's dim at that index, one -1 is inferred."""

    def __init__(self, shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape([x.shape[i] if d == 0 else d for i, d in enumerate(self.shape)])
''')


@converts(Reshape)
def reshape(node: Reshape, graph: Graph) -> Built:
    return Built(f"Reshape({list(node.shape)})", (RESHAPE,))
