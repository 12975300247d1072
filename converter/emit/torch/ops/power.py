"""Power -> the Elementwise helper's "power": (shift + scale * x) ** power."""

from converter.emit.torch.ops._common import ELEMENTWISE
from converter.emit.torch.registry import Built, converts
from converter.ir import Graph, Power


@converts(Power)
def power(node: Power, graph: Graph) -> Built:
    return Built(f'Elementwise("power", power={node.power!r}, scale={node.scale!r}, shift={node.shift!r})',
                 (ELEMENTWISE,))
