"""Elu -> nn.ELU(alpha)."""

from converter.emit.torch.registry import Built, converts
from converter.ir import Elu, Graph


@converts(Elu)
def elu(node: Elu, graph: Graph) -> Built:
    return Built(f"nn.ELU({float(node.alpha)!r})")
