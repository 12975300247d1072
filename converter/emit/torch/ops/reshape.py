"""Reshape -> the Reshape helper (a 0 copies the input's dim, one -1 is inferred), with a target that
holds for any batch size, as the ONNX emitter's: [0, *output dims 1..] when the batch dim is kept,
[-1, *output dims 1..] when it is merged into dim 0, else the IR's shape as given."""

import math

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


def _batch_free_target(node: Reshape, graph: Graph) -> list[int]:
    before, after = graph.tensors[node.inputs[0]].shape, graph.tensors[node.outputs[0]].shape
    if before and after:
        if after[0] == before[0]:
            return [0, *after[1:]]
        if after[0] % before[0] == 0 and math.prod(before[1:]) % math.prod(after[1:]) == 0:
            return [-1, *after[1:]]
    return list(node.shape)


@converts(Reshape)
def reshape(node: Reshape, graph: Graph) -> Built:
    return Built(f"Reshape({_batch_free_target(node, graph)})", (RESHAPE,))
