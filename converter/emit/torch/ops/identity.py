"""Identity -> nn.Identity, or with several outputs (a Split) the Copies helper, the input once per
output (the identity pass normally removes these first)."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Graph, Identity

COPIES = Helper("Copies", '''
class Copies(nn.Module):
    """The input, once per output."""

    def __init__(self, count):
        super().__init__()
        self.count = count

    def forward(self, x):
        return (x,) * self.count
''')


@converts(Identity)
def identity(node: Identity, graph: Graph) -> Built:
    if len(node.outputs) > 1:
        return Built(f"Copies({len(node.outputs)})", (COPIES,))
    return Built("nn.Identity()")
