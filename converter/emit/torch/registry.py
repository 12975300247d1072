"""The emitter table (IR op class -> function) and what those functions return.

Each emitter lives in its own module under `converter.emit.torch.ops` and registers itself with
`@converts(OpClass)` (see converter/emit/op_table.py). An emitter turns one IR node into one
nn.Module: the constructor expression the generated `__init__` assigns, the helper classes that
expression needs, and the module's state_dict entries. The layout writes the forward line, a call
of that module on the node's inputs, so every node's output can be hooked by its module path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from converter.emit.op_table import OpTable
from converter.ir import Graph, Node


@dataclass(frozen=True)
class Helper:
    """A helper nn.Module class copied into the generated file (once, whoever uses it)."""

    name: str
    source: str


@dataclass
class Built:
    """One node as a module: constructor expression, helper classes it needs, state_dict entries
    by key suffix ("weight", "squeeze.bias", ...), and whether it takes its inputs as one list.

    Helper sources must stay scriptable (torch.jit.script) and exportable (torch.export): no *args,
    no star-unpacking in calls, one return type, Optional arguments annotated."""

    code: str
    helpers: tuple[Helper, ...] = ()
    params: dict[str, np.ndarray] = field(default_factory=dict)
    # The module takes its inputs as one list (TorchScript has no *args): called as m([a, b]).
    takes_list: bool = False


Emitter = Callable[[Any, Graph], Built]
TABLE: OpTable[Emitter] = OpTable("PyTorch", "converter.emit.torch.ops")
EMITTERS = TABLE.functions
converts = TABLE.converts


def build(node: Node, graph: Graph) -> Built:
    """The module for `node`, by its op's registered emitter."""
    return TABLE.emitter_of(node)(node, graph)
