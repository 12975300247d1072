"""Abs -> the Elementwise helper's "abs"."""

from converter.emit.torch.ops._common import ELEMENTWISE
from converter.emit.torch.registry import Built, converts
from converter.ir import Abs, Graph


@converts(Abs)
def abs_(node: Abs, graph: Graph) -> Built:
    return Built('Elementwise("abs")', (ELEMENTWISE,))
