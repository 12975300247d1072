"""Log -> the Elementwise helper's "log": log_base(shift + scale * x), natural when base is None."""

from converter.emit.torch.ops._common import ELEMENTWISE
from converter.emit.torch.registry import Built, converts
from converter.ir import Graph, Log


@converts(Log)
def log(node: Log, graph: Graph) -> Built:
    return Built(f'Elementwise("log", scale={node.scale!r}, shift={node.shift!r}, base={node.base!r})',
                 (ELEMENTWISE,))
