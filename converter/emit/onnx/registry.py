"""The emitter table (IR op class -> function) and the context those functions build with.

Each emitter lives in its own module under `converter.emit.onnx.ops` and registers itself with
`@converts(OpClass)`; `TABLE.load()` imports every such module (see converter/emit/op_table.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from converter.emit.onnx.proto import NodeSpec
from converter.emit.op_table import OpTable
from converter.ir import Graph
from converter.ir.graph import Shape

Emitter = Callable[[Any, "Context"], None]
TABLE: OpTable[Emitter] = OpTable("ONNX", "converter.emit.onnx.ops")
EMITTERS = TABLE.functions
converts = TABLE.converts


@dataclass
class Context:
    """What an emitter needs: the IR graph (for shapes), the opset, and sinks for nodes and weights.

    `opset` is the opset the emitter writes for: 13 at least (for an older target the nodes are
    lowered afterwards, generically, by downgrade.py).

    Names handed out by `tensor()` and `const()` never clash with IR tensor names or each other.
    """

    graph: Graph
    opset: int
    nodes: list[NodeSpec] = field(default_factory=list)
    weights: list[tuple[str, np.ndarray]] = field(default_factory=list)
    names: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.names.update(self.graph.tensors)
        self.names.update(self.graph.inputs)
        self.names.update(t for node in self.graph.nodes for t in (*node.inputs, *node.outputs))

    def node(self, op: str, inputs: Sequence[str], outputs: Sequence[str], name: str, **attrs: Any) -> None:
        """Append an ONNX node (attributes as keyword arguments, their types inferred as
        onnx.helper.make_node infers them; None values dropped)."""
        attrs = {key: value for key, value in attrs.items() if value is not None}
        self.nodes.append(NodeSpec(op, list(inputs), list(outputs), name, attrs))

    def unique(self, name: str) -> str:
        """`name`, or `name#2`, `name#3`, ... if taken; reserves the result."""
        candidate, n = name, 1
        while candidate in self.names:
            n += 1
            candidate = f"{name}#{n}"
        self.names.add(candidate)
        return candidate

    def tensor(self, hint: str) -> str:
        """A fresh name for an internal tensor."""
        return self.unique(hint)

    def const(self, name: str, value: np.ndarray | float | Sequence[float], dtype: type = np.float32) -> str:
        """An initializer holding `value` (as `dtype`); returns its (unique) name."""
        name = self.unique(name)
        self.weights.append((name, np.ascontiguousarray(value, dtype=dtype)))
        return name

    def shared_const(self, name: str, value: np.ndarray | float | Sequence[float], dtype: type = np.float32) -> str:
        """Like `const`, but an initializer already holding exactly this value (dtype, shape and
        bytes) is reused: several layers with the same parameters share one constant."""
        array = np.ascontiguousarray(value, dtype=dtype)
        for existing, held in self.weights:
            if held.dtype == array.dtype and held.shape == array.shape and held.tobytes() == array.tobytes():
                return existing
        return self.const(name, array, dtype)

    def ints(self, name: str, values: Sequence[int]) -> str:
        """A 1-D int64 initializer (shapes, pads, split sizes)."""
        return self.const(name, np.array(list(values), dtype=np.int64).reshape(-1), np.int64)

    def shape(self, tensor: str) -> Shape:
        return self.graph.tensors[tensor].shape

    def rank(self, tensor: str) -> int:
        return len(self.shape(tensor))
