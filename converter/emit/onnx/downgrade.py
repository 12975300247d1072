"""Opsets older than 13: emitters write opset-13 forms, and the nodes are lowered here afterwards.

Generic rule, no list of IR ops: a node whose operator has, at the target opset, the same inputs and
attributes as at opset 13 is kept (most operators only gained types since). Operators whose form
changed are rewritten into the older form when that is exact:
- Split, Squeeze, Unsqueeze, ReduceSum: sizes/axes from an int64 initializer input to an attribute;
- Softmax, LogSoftmax, Hardmax: before 13 they flatten the input to 2-D at `axis` and normalise over
  all the later dimensions together; over one axis (13's meaning) they are the same when every later
  dimension is 1, else the axis is moved last (Transpose), normalised, and moved back.
Anything else is refused, naming the node, the operator and the opset that changed it; so are
operators whose signature stayed but whose meaning changed (Resize's coordinate modes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import onnx
from onnx import defs, helper

from converter.defaults import LOWEST_EMITTED
from converter.errors import ConverterError

# Same inputs and attributes before 13, another meaning: never kept as they are.
_CHANGED_MEANING = {"Resize"}


def lower(nodes: list[onnx.NodeProto], weights: Mapping[str, np.ndarray], ranks: Mapping[str, int],
          shapes: Mapping[str, tuple[int, ...]], opset: int) -> list[onnx.NodeProto]:
    """`nodes` (opset-13 forms) as opset `opset` (< 13) nodes; raises ConverterError naming every
    node that opset cannot express."""
    lowered: list[onnx.NodeProto] = []
    refused: list[str] = []
    for node in nodes:
        rewrite = _REWRITES.get(node.op_type)
        if rewrite is not None:
            try:
                lowered.extend(rewrite(node, _Lowering(weights, ranks, shapes)))
            except _Unexpressible as why:
                refused.append(f"'{node.name}' ({node.op_type}: {why})")
            continue
        reason = _unchanged(node.op_type, opset)
        if reason:
            refused.append(f"'{node.name}' ({node.op_type}: {reason})")
        else:
            lowered.append(node)
    if refused:
        raise ConverterError(f"opset {opset} cannot express node(s) " + ", ".join(refused)
                             + f"; use --opset {LOWEST_EMITTED} or later")
    return lowered


def _signature(schema: defs.OpSchema) -> tuple[list[str], list[str]]:
    return [i.name for i in schema.inputs], sorted(schema.attributes)


def _unchanged(op: str, opset: int) -> str:
    """'' when `op` at `opset` takes what it takes at 13 and means the same; else why not."""
    try:
        old = defs.get_schema(op, opset)
    except defs.SchemaError:
        return f"no such operator in opset {opset}"
    new = defs.get_schema(op, LOWEST_EMITTED)
    if old.since_version == new.since_version:
        return ""
    if op in _CHANGED_MEANING:
        return f"its meaning changed in opset {new.since_version}"
    if _signature(old) != _signature(new):
        return f"its inputs or attributes changed in opset {new.since_version}"
    return ""


class _Unexpressible(Exception):
    pass


class _Lowering:
    def __init__(self, weights: Mapping[str, np.ndarray], ranks: Mapping[str, int],
                 shapes: Mapping[str, tuple[int, ...]]) -> None:
        self.weights, self.ranks, self.shapes = weights, ranks, shapes

    def constant(self, name: str) -> list[int]:
        if name not in self.weights:
            raise _Unexpressible(f"'{name}' is computed, not a constant, so it cannot become an attribute")
        return [int(v) for v in np.asarray(self.weights[name]).reshape(-1)]


def _attributes(node: onnx.NodeProto) -> dict[str, object]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _input_to_attribute(attribute: str) -> Callable[[onnx.NodeProto, _Lowering], list[onnx.NodeProto]]:
    """The node with its second input (an int64 constant) given as `attribute` instead."""
    def rewrite(node: onnx.NodeProto, lowering: _Lowering) -> list[onnx.NodeProto]:
        attrs = _attributes(node)
        if len(node.input) > 1 and node.input[1]:
            attrs[attribute] = lowering.constant(node.input[1])
        return [helper.make_node(node.op_type, [node.input[0]], list(node.output), name=node.name, **attrs)]
    return rewrite


def _one_axis(node: onnx.NodeProto, lowering: _Lowering) -> list[onnx.NodeProto]:
    attrs = _attributes(node)
    x = node.input[0]
    rank = lowering.ranks.get(x)
    if rank is None:
        raise _Unexpressible("the rank of its input is unknown")
    axis = int(attrs.get("axis", -1)) % rank
    later = lowering.shapes.get(x, ())[axis + 1:]
    if axis == rank - 1 or (later and all(d == 1 for d in later)):
        return [helper.make_node(node.op_type, [x], list(node.output), name=node.name, axis=axis)]
    perm = [d for d in range(rank) if d != axis] + [axis]
    inverse = [perm.index(d) for d in range(rank)]
    moved, normalised = f"{node.output[0]}/axis_last", f"{node.output[0]}/normalised"
    return [helper.make_node("Transpose", [x], [moved], name=f"{node.name}/axis_last", perm=perm),
            helper.make_node(node.op_type, [moved], [normalised], name=node.name, axis=rank - 1),
            helper.make_node("Transpose", [normalised], list(node.output), name=f"{node.name}/axis_back",
                             perm=inverse)]


_REWRITES: dict[str, Callable[[onnx.NodeProto, _Lowering], list[onnx.NodeProto]]] = {
    "Split": _input_to_attribute("split"),
    "Squeeze": _input_to_attribute("axes"),
    "Unsqueeze": _input_to_attribute("axes"),
    "ReduceSum": _input_to_attribute("axes"),
    "Softmax": _one_axis,
    "LogSoftmax": _one_axis,
    "Hardmax": _one_axis,
}
