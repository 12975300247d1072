"""PRelu -> nn.PReLU with one slope per channel (or one shared)."""

from converter.emit.torch.registry import Built, converts
from converter.ir import Graph, PRelu


@converts(PRelu)
def prelu(node: PRelu, graph: Graph) -> Built:
    slope = node.slope.reshape(-1)
    return Built(f"nn.PReLU({slope.size})", params={"weight": slope})
