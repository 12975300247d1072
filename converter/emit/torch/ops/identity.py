"""Identity -> nn.Identity (the identity pass normally removes these first)."""

from converter.emit.torch.registry import Built, converts
from converter.ir import Graph, Identity


@converts(Identity)
def identity(node: Identity, graph: Graph) -> Built:
    return Built("nn.Identity()")
