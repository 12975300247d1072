"""Elu -> nn.ELU(alpha)."""

from converter.emit.torch.registry import Built, converts
from converter.emit.torch.writer import number
from converter.ir import Elu, Graph


@converts(Elu)
def elu(node: Elu, graph: Graph) -> Built:
    return Built(f"nn.ELU({number(node.alpha)})")
