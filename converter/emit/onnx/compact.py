"""Compact ONNX: weights kept in codebook form (uint8 codes + a float32 table per tensor),
expanded in the graph by Gather, so a quantised model stays close to its compressed size."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from converter.emit.onnx import OnnxModel


def compact_onnx(model: OnnxModel, codebooks: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> onnx.ModelProto:
    """`model` with each initializer named in `codebooks` ({name: (table, codes)}, codes uint8 with
    the initializer's shape) replaced by Cast(codes) -> Gather(table) producing the same tensor."""
    compact = model.header()
    expansions = []
    for name, array in model.weights:
        if name not in codebooks:
            compact.graph.initializer.append(numpy_helper.from_array(array, name))
            continue
        table, codes = codebooks[name]
        if codes.dtype != np.uint8 or codes.shape != array.shape or table.size > 256:
            raise ValueError(f"{name}: codes must be uint8 of shape {array.shape} with at most 256 table entries")
        compact.graph.initializer.extend([
            numpy_helper.from_array(np.ascontiguousarray(codes), f"{name}.codes"),
            numpy_helper.from_array(np.ascontiguousarray(table, np.float32), f"{name}.codebook")])
        expansions += [
            helper.make_node("Cast", [f"{name}.codes"], [f"{name}.index"], name=f"{name}/cast", to=TensorProto.INT32),
            helper.make_node("Gather", [f"{name}.codebook", f"{name}.index"], [name], name=f"{name}/expand", axis=0),
        ]
    nodes = list(compact.graph.node)
    del compact.graph.node[:]
    compact.graph.node.extend(expansions + nodes)
    return compact
