"""Exp -> the Elementwise helper's "exp": base ** (shift + scale * x), e when base is None."""

from converter.emit.torch.ops._common import ELEMENTWISE
from converter.emit.torch.registry import Built, converts
from converter.ir import Exp, Graph


@converts(Exp)
def exp(node: Exp, graph: Graph) -> Built:
    return Built(f'Elementwise("exp", scale={node.scale!r}, shift={node.shift!r}, base={node.base!r})',
                 (ELEMENTWISE,))
