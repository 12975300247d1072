"""Constant -> the Constant helper: its value is a buffer ("value" in the state_dict), returned as is."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Constant, Graph

CONSTANT = Helper("Constant", '''
class Constant(nn.Module):
    """A fixed tensor, whatever the batch; reads no input."""

    def __init__(self, shape):
        super().__init__()
        self.register_buffer("value", torch.zeros(shape))

    def forward(self):
        return self.value
''')


@converts(Constant)
def constant(node: Constant, graph: Graph) -> Built:
    return Built(f"Constant({tuple(node.value.shape)})", (CONSTANT,), {"value": node.value})
