"""The SqueezeNet paper's Table 1 for any Caffe net: per layer or Fire module, output size HxWxC,
filter/stride, depth, Fire sizes and parameters; with weights, sparsity and distinct values.

Design: the rows come from the IR that conversion builds (`pipeline.build_graph`), so Fire modules
are found by the same structural pass, identities (Dropout, Split) are gone exactly as in the
converted model, and one code path serves nets with and without weights. Lifting needs blobs, so
without weights every layer gets read-only zero placeholders of the shapes Caffe expects
(`np.broadcast_to`, no memory per element). The numbers, however, are read from the Caffe layers
the row covers, not from IR arrays: parameters are the products of `blob_shapes` (what the
caffemodel stores, e.g. BatchNorm's scale factor too) and sparsity/distinct values come from the
loaded blob 0 of Convolution, Deconvolution and InnerProduct layers (their "weights"; biases and
other blobs count as parameters only). The alternative, grouping CaffeNet layers into Fires by
hand, would have been a second Fire detector that could disagree with the converter's.

Conventions: an activation that reads the previous row's output is folded into that row, as in the
paper (its parameters, e.g. PReLU slopes, are added there). Depth is 1 for a weight layer
(convolution, deconvolution, inner product), 2 for a Fire module and 0 otherwise, so SqueezeNet's
depth totals 18 like the paper's. Sparsity is the fraction of weights exactly zero; a Fire row
reports its three convolutions together, and `parts` gives each one (the paper's s1x1/e1x1/e3x3
sparsity). "MB" is 10^6 bytes; MiB is also given (the paper's "4.8MB" is 4.76 MiB).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from converter.caffe.layers import LAYER_TYPES
from converter.caffe.loader import load_net
from converter.caffe.net import CaffeLayer, CaffeNet, Shape
from converter.errors import ConverterError
from converter.ir import Abs, Conv, ConvTranspose, Dense, Elu, Fire, Graph, Node, Pool, PRelu, Relu, Sigmoid, Tanh

ACTIVATIONS = (Relu, PRelu, Elu, Sigmoid, Tanh, Abs)
WEIGHTED_TYPES = {"Convolution", "Deconvolution", "InnerProduct"}  # blob 0 is the weight tensor


@dataclass
class Stats:
    """Parameters of one or more Caffe layers; sparsity and distinct only when weights were given."""

    params: int
    weights: int  # how many of the params are weights (blob 0 of weight layers)
    zeros: int | None = None
    sparsity: float | None = None
    distinct: int | None = None


@dataclass
class Part:
    """One convolution of a Fire module (the paper's s1x1, e1x1 and e3x3 columns)."""

    name: str
    role: str  # "s1x1", "e1x1" or "e3x3"
    params: int
    weights: int
    zeros: int | None = None
    sparsity: float | None = None
    distinct: int | None = None


@dataclass
class Row:
    """One line of the table: a layer (with any activation folded in), or a Fire module."""

    name: str
    type: str
    output: str  # HxWxC as in the paper
    filter: str  # e.g. "7x7/2"
    depth: int
    s1x1: int | None
    e1x1: int | None
    e3x3: int | None
    params: int  # weights + biases + any other blobs
    weights: int  # blob 0 of weight layers
    zeros: int | None = None
    sparsity: float | None = None  # fraction of the weights exactly zero
    distinct: int | None = None  # distinct weight values
    layers: list[str] = field(default_factory=list)  # the Caffe layers the row covers
    parts: list[Part] | None = None


@dataclass
class Table:
    model: str
    inputs: dict[str, list[int]]
    with_weights: bool
    rows: list[Row] = field(default_factory=list)
    distinct: int | None = None  # distinct weight values over the whole model

    @property
    def params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def weights(self) -> int:
        return sum(r.weights for r in self.rows)

    @property
    def zeros(self) -> int | None:
        return sum(r.zeros or 0 for r in self.rows) if self.with_weights else None

    @property
    def sparsity(self) -> float | None:
        zeros = self.zeros
        return zeros / self.weights if zeros is not None and self.weights else None

    def totals(self) -> dict[str, object]:
        return {"params": self.params, "weights": self.weights, "biases_and_other": self.params - self.weights,
                "depth": sum(r.depth for r in self.rows), "fp32_bytes": 4 * self.params,
                "fp32_mb": 4 * self.params / 1e6, "fp32_mib": 4 * self.params / 2**20,
                "zeros": self.zeros, "sparsity": self.sparsity, "distinct": self.distinct}

    def to_json(self) -> dict[str, object]:
        """Stable keys: model, inputs, with_weights, rows (Row fields), totals."""
        return {"model": self.model, "inputs": self.inputs, "with_weights": self.with_weights,
                "rows": [asdict(r) for r in self.rows], "totals": self.totals()}


def _add_placeholders(net: CaffeNet) -> None:
    zero = np.zeros((), np.float32)
    for layer in net.layers:
        blob_shapes = LAYER_TYPES[layer.type].blob_shapes
        if blob_shapes is not None and not layer.blobs:
            layer.blobs = [np.broadcast_to(zero, tuple(s)) for s in blob_shapes(layer, layer.bottom_shapes)]


def _param_count(layer: CaffeLayer) -> int:
    blob_shapes = LAYER_TYPES[layer.type].blob_shapes
    return sum(math.prod(s) for s in blob_shapes(layer, layer.bottom_shapes)) if blob_shapes else 0


class _Counter:
    """Statistics of groups of Caffe layers, remembering each group's distinct weight values."""

    def __init__(self, net: CaffeNet, with_weights: bool) -> None:
        self.layers = {layer.name: layer for layer in net.layers}
        self.with_weights = with_weights
        self.values: list[np.ndarray] = []  # distinct weight values of each group counted

    def stats(self, names: list[str]) -> Stats:
        layers = [self.layers[n] for n in names if n in self.layers]
        weighted = [layer for layer in layers if layer.type in WEIGHTED_TYPES]
        stats = Stats(sum(_param_count(layer) for layer in layers),
                      sum(math.prod(layer.blobs[0].shape) for layer in weighted))
        if self.with_weights and weighted:
            flat = np.concatenate([np.asarray(layer.blobs[0]).reshape(-1) for layer in weighted])
            unique = np.unique(flat)
            self.values.append(unique)
            stats.zeros = int(flat.size - np.count_nonzero(flat))
            stats.sparsity = stats.zeros / flat.size
            stats.distinct = int(unique.size)
        return stats


def _filter(graph: Graph, node: Node) -> str:
    if isinstance(node, (Conv, ConvTranspose)):
        (kh, kw), (sh, sw) = node.kernel, node.stride
        text = f"{kh}x{kw}/{sh if sh == sw else f'{sh}x{sw}'}"
        if node.dilation != (1, 1):
            text += f" d{node.dilation[0]}"
        return text + (f" g{node.group}" if node.group > 1 else "")
    if isinstance(node, Pool):
        if node.global_pool:  # one window over the whole plane, as the paper writes avgpool10
            h, w = graph.shape(node.inputs[0])[2:4]
            return f"{h}x{w}/1"
        (kh, kw), (sh, sw) = node.kernel, node.stride
        return f"{kh}x{kw}/{sh if sh == sw else f'{sh}x{sw}'}"
    return ""


def _kind(node: Node) -> str:
    if isinstance(node, Pool):
        return f"{node.kind}pool"
    names = {Conv: "conv", ConvTranspose: "deconv", Dense: "fc", Fire: "fire"}
    return names.get(type(node), type(node).__name__.lower())


def _size(shape: Shape) -> str:
    if len(shape) == 4:
        return f"{shape[2]}x{shape[3]}x{shape[1]}"
    return "x".join(map(str, shape[1:] or shape))


def _row(graph: Graph, node: Node, counter: _Counter) -> Row:
    sizes: tuple[int | None, int | None, int | None] = (None, None, None)
    parts = None
    names = [node.name]
    depth = 1 if isinstance(node, (Conv, ConvTranspose, Dense)) else 0
    if isinstance(node, Fire):
        roles = (("s1x1", node.squeeze), ("e1x1", node.expand1x1), ("e3x3", node.expand3x3))
        parts = [Part(conv.name, role, **asdict(counter.stats([conv.name]))) for role, conv in roles]
        names = [part.name for part in parts]
        sizes, depth = (node.s1x1, node.e1x1, node.e3x3), 2
    return Row(node.name, _kind(node), _size(graph.shape(node.outputs[0])), _filter(graph, node), depth,
               *sizes, **asdict(counter.stats(names)), layers=names, parts=parts)


def _fold(row: Row, activation: Node, counter: _Counter) -> None:
    extra = counter.stats([activation.name])
    row.params += extra.params
    row.layers.append(activation.name)


def inspect_net(prototxt: str | Path, weights: str | Path | None = None,
                input_shapes: Mapping[str, Shape] | None = None) -> Table:
    """Table 1 for a prototxt; with weights (caffemodel or Deep Compression .net) also sparsity."""
    from converter.pipeline import build_graph

    net = load_net(prototxt, weights, input_shapes)
    counts = {layer.name: _param_count(layer) for layer in net.layers}
    counter = _Counter(net, weights is not None)
    _add_placeholders(net)
    graph = build_graph(net)
    prototxt = Path(prototxt)
    inputs = {name: list(shape) for name, shape in net.inputs.items()}
    table = Table(net.name or f"{prototxt.parent.name}/{prototxt.name}", inputs, weights is not None)
    last_output: str | None = None
    for node in graph.nodes:
        if isinstance(node, ACTIVATIONS) and table.rows and node.inputs == [last_output]:
            _fold(table.rows[-1], node, counter)
        else:
            table.rows.append(_row(graph, node, counter))
        last_output = node.outputs[0] if len(node.outputs) == 1 else None
    if table.params != sum(counts.values()):  # every Caffe layer with blobs must land in a row
        raise ConverterError(f"inspect accounted for {table.params:,} of {sum(counts.values()):,} parameters")
    if counter.values:
        table.distinct = int(np.unique(np.concatenate(counter.values)).size)
    return table


# (Row attribute, column title)
COLUMNS = [("name", "layer"), ("type", "type"), ("output", "output HxWxC"), ("filter", "filter/stride"),
           ("depth", "depth"), ("s1x1", "s1x1"), ("e1x1", "e1x1"), ("e3x3", "e3x3"), ("params", "params"),
           ("sparsity", "sparsity"), ("distinct", "distinct")]


def _cells(table: Table) -> tuple[list[str], list[list[str]]]:
    columns = COLUMNS if table.with_weights else COLUMNS[:-2]

    def fmt(value: object, key: str) -> str:
        if value is None:
            return ""
        if key == "sparsity" and isinstance(value, float):
            return f"{value:.1%}"
        return f"{value:,}" if key in ("params", "distinct") and isinstance(value, int) else str(value)

    rows = [[fmt(getattr(r, key), key) for key, _ in columns] for r in table.rows]
    totals = {"name": "total", "depth": sum(r.depth for r in table.rows), "params": table.params,
              "sparsity": table.sparsity, "distinct": table.distinct}
    rows.append([fmt(totals.get(key), key) for key, _ in columns])
    return [title for _, title in columns], rows


def summary(table: Table) -> str:
    """One paragraph of totals under the table."""
    t = table.totals()
    inputs = ", ".join(f"{name} {'x'.join(map(str, shape))}" for name, shape in table.inputs.items())
    text = (f"{t['params']:,} parameters ({t['weights']:,} weights, {t['biases_and_other']:,} biases and other), "
            f"depth {t['depth']}; float32 size {t['fp32_bytes']:,} bytes = {t['fp32_mb']:.2f} MB "
            f"({t['fp32_mib']:.2f} MiB); input {inputs}")
    if table.with_weights:
        text += (f"\nweights: {t['zeros']:,} exactly zero (sparsity {table.sparsity or 0:.2%}), "
                 f"{t['distinct']:,} distinct values")
    return text


def format_text(table: Table) -> str:
    header, rows = _cells(table)
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=True)]
    right = {i for i, (key, _) in enumerate(COLUMNS[: len(header)]) if key not in ("name", "type", "output", "filter")}

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [f"{table.model}", line(header), rule, *map(line, rows[:-1]), rule, line(rows[-1]), "", summary(table)]
    return "\n".join(lines)


def format_markdown(table: Table) -> str:
    header, rows = _cells(table)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows[:-1]]
    lines.append("| " + " | ".join(f"**{c}**" if c else "" for c in rows[-1]) + " |")
    return "\n".join(lines) + "\n\n" + summary(table).replace("\n", "  \n") + "\n"
