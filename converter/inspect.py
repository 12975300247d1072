"""The SqueezeNet paper's Table 1 for any Caffe net: per layer or Fire module, output size, filter,
depth, Fire sizes and parameters; with weights, sparsity and distinct values.

Rows come from the IR after fusion, so Fire modules are found by structure exactly as in conversion.
Without weights the net is lifted with zero placeholders of the shapes Caffe expects (their counts
are what matter); activations are folded into the row of the layer they follow, as in the paper.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from converter.caffe.layers import LAYER_TYPES
from converter.caffe.loader import load_net
from converter.caffe.net import CaffeNet, Shape
from converter.ir import Abs, Conv, ConvTranspose, Dense, Elu, Fire, Identity, Node, Pool, PRelu, Relu, Sigmoid, Tanh
from converter.pipeline import build_graph

ACTIVATIONS = (Relu, PRelu, Elu, Sigmoid, Tanh, Abs, Identity)


@dataclass
class Row:
    name: str
    type: str
    output: str  # HxWxC as in the paper
    filter: str
    depth: int
    s1x1: int | None
    e1x1: int | None
    e3x3: int | None
    params: int
    weights: int = 0  # how many of the params are weights (not biases or statistics)
    sparsity: float | None = None  # fraction of weights that are exactly zero
    distinct: int | None = None  # distinct weight values


@dataclass
class Table:
    model: str
    input: list[int]
    rows: list[Row] = field(default_factory=list)

    @property
    def params(self) -> int:
        return sum(r.params for r in self.rows)

    def to_json(self) -> dict[str, object]:
        measured = [r for r in self.rows if r.sparsity is not None]
        zeros = sum(r.sparsity * r.weights for r in measured)
        return {"model": self.model, "input": self.input, "rows": [asdict(r) for r in self.rows],
                "total_params": self.params, "fp32_bytes": 4 * self.params,
                "sparsity": zeros / sum(r.weights for r in measured) if measured else None}


def _with_placeholders(net: CaffeNet) -> None:
    for layer in net.layers:
        blob_shapes = LAYER_TYPES[layer.type].blob_shapes
        if blob_shapes is not None and not layer.blobs:
            layer.blobs = [np.zeros(shape, np.float32) for shape in blob_shapes(layer, layer.bottom_shapes)]


def _arrays(node: Node) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(weights, everything else learned) of a node."""
    if isinstance(node, Fire):
        parts = [_arrays(c) for c in (node.squeeze, node.expand1x1, node.expand3x3)]
        return [w for p in parts for w in p[0]], [b for p in parts for b in p[1]]
    if isinstance(node, (Conv, ConvTranspose, Dense)):
        return [node.weight], [node.bias] if node.bias is not None else []
    other = [v for v in vars(node).values() if isinstance(v, np.ndarray)]
    return [], other


def _describe(node: Node) -> tuple[str, str, int]:
    if isinstance(node, Fire):
        return "fire", "", 2
    if isinstance(node, (Conv, ConvTranspose)):
        (kh, kw), (sh, sw) = node.kernel, node.stride
        stride = f"{sh}" if sh == sw else f"{sh}x{sw}"
        return "conv" if isinstance(node, Conv) else "deconv", f"{kh}x{kw}/{stride}", 1
    if isinstance(node, Pool):
        kind = f"{'max' if node.kind == 'max' else 'avg'}pool"
        if node.global_pool:
            return kind, "global", 1
        (kh, kw), (sh, _) = node.kernel, node.stride
        return kind, f"{kh}x{kw}/{sh}", 1
    if isinstance(node, Dense):
        return "fc", "", 1
    return type(node).__name__.lower(), "", 0


def inspect_net(prototxt: str | Path, weights: str | Path | None = None,
                input_shapes: dict[str, Shape] | None = None) -> Table:
    net = load_net(prototxt, weights, input_shapes)
    has_weights = weights is not None
    _with_placeholders(net)
    graph = build_graph(net)
    table = Table(graph.name, list(next(iter(net.inputs.values()))))
    for node in graph.nodes:
        if isinstance(node, ACTIVATIONS) and table.rows:
            continue
        kind, filt, depth = _describe(node)
        shape = graph.tensors[node.outputs[0]].shape
        size = f"{shape[2]}x{shape[3]}x{shape[1]}" if len(shape) == 4 else "x".join(map(str, shape[1:]))
        weights_, other = _arrays(node)
        fire = isinstance(node, Fire)
        row = Row(node.name, kind, size, filt, depth, node.s1x1 if fire else None, node.e1x1 if fire else None,
                  node.e3x3 if fire else None, sum(a.size for a in weights_ + other), sum(w.size for w in weights_))
        if has_weights and weights_:
            flat = np.concatenate([w.reshape(-1) for w in weights_])
            row.sparsity = float(np.count_nonzero(flat == 0) / flat.size)
            row.distinct = int(np.unique(flat).size)
        table.rows.append(row)
    return table


# (Row field, column title)
COLUMNS = [("name", "layer"), ("type", "type"), ("output", "output HxWxC"), ("filter", "filter/stride"),
           ("depth", "depth"), ("s1x1", "s1x1"), ("e1x1", "e1x1"), ("e3x3", "e3x3"), ("params", "params"),
           ("sparsity", "zeros"), ("distinct", "distinct")]


def _cells(table: Table) -> tuple[list[str], list[list[str]]]:
    columns = [c for c in COLUMNS if c[0] not in ("sparsity", "distinct") or any(
        getattr(r, c[0]) is not None for r in table.rows)]

    def fmt(value: object, key: str) -> str:
        if value is None:
            return ""
        if key == "sparsity":
            return f"{value:.1%}"
        return f"{value:,}" if isinstance(value, int) and key == "params" else str(value)

    rows = [[fmt(getattr(r, key), key) for key, _ in columns] for r in table.rows]
    rows.append(["total", "", "", "", "", "", "", "", f"{table.params:,}", *[""] * (len(columns) - 9)])
    return [title for _, title in columns], rows


def format_text(table: Table) -> str:
    header, rows = _cells(table)
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.append(f"\n{table.params:,} parameters, {4 * table.params / 1e6:.2f} MB as float32 "
                 f"(input {'x'.join(map(str, table.input))})")
    return "\n".join(lines)


def format_markdown(table: Table) -> str:
    header, rows = _cells(table)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + f"\n\n{table.params:,} parameters, {4 * table.params / 1e6:.2f} MB as float32\n"

