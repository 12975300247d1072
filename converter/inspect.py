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
reports its three convolutions together, and `parts` gives each one (printed under the Fire row).
The paper's "sparsity" columns give the opposite, the fraction kept (100%, 33%, 20% where the
Deep Compression model has 0.5%, 67%, 80% zeros). `nonzero` is the paper's "# parameter after
pruning": parameters less the zero weights (biases count as kept). `bits` is the paper's "# bits":
the width of an index into the layer's distinct weight values, ceil(log2(distinct)), when there are
at most 256 of them and values repeat (a codebook); 32 (plain float32) otherwise; a Fire row gives
its widest part.
"MB" is 10^6 bytes; MiB is also given (the paper's "4.8MB" is 4.76 MiB).
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
# Layer types whose blob 0 is the weight tensor (the forks' depthwise convolutions too).
WEIGHTED_TYPES = {"Convolution", "Deconvolution", "InnerProduct", "ConvolutionDepthwise", "DepthwiseConvolution"}


@dataclass
class Stats:
    """Parameters of one or more Caffe layers; sparsity and distinct only when weights were given."""

    params: int
    weights: int  # how many of the params are weights (blob 0 of weight layers)
    zeros: int | None = None
    nonzero: int | None = None  # params less the zero weights (the paper's "after pruning")
    sparsity: float | None = None
    distinct: int | None = None
    bits: int | None = None  # codebook index width of the widest layer; 32 when not a codebook


@dataclass
class Part:
    """One convolution of a Fire module (the paper's s1x1, e1x1 and e3x3 columns)."""

    name: str
    role: str  # "s1x1", "e1x1" or "e3x3"
    output: str
    filter: str
    params: int
    weights: int
    zeros: int | None = None
    nonzero: int | None = None
    sparsity: float | None = None
    distinct: int | None = None
    bits: int | None = None


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
    nonzero: int | None = None  # params less the zero weights
    sparsity: float | None = None  # fraction of the weights exactly zero
    distinct: int | None = None  # distinct weight values
    bits: int | None = None  # see the module docstring
    layers: list[str] = field(default_factory=list)  # the Caffe layers the row covers
    parts: list[Part] | None = None


@dataclass
class Table:
    model: str
    inputs: dict[str, list[int]]
    with_weights: bool
    rows: list[Row] = field(default_factory=list)
    distinct: int | None = None  # distinct weight values over the whole model
    weights_file: str | None = None
    weights_file_bytes: int | None = None

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
    def nonzero(self) -> int | None:
        zeros = self.zeros
        return self.params - zeros if zeros is not None else None

    @property
    def sparsity(self) -> float | None:
        zeros = self.zeros
        return zeros / self.weights if zeros is not None and self.weights else None

    def totals(self) -> dict[str, object]:
        return {"params": self.params, "weights": self.weights, "biases_and_other": self.params - self.weights,
                "depth": sum(r.depth for r in self.rows), "fp32_bytes": 4 * self.params,
                "fp32_mb": 4 * self.params / 1e6, "fp32_mib": 4 * self.params / 2**20,
                "zeros": self.zeros, "nonzero": self.nonzero, "sparsity": self.sparsity, "distinct": self.distinct,
                "weights_file": self.weights_file, "weights_file_bytes": self.weights_file_bytes}

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
            flats = [np.asarray(layer.blobs[0]).reshape(-1) for layer in weighted]
            per_layer = [np.unique(flat) for flat in flats]
            unique = np.unique(np.concatenate(per_layer))
            self.values.append(unique)
            stats.zeros = sum(int(flat.size - np.count_nonzero(flat)) for flat in flats)
            stats.sparsity = stats.zeros / stats.weights
            stats.distinct = int(unique.size)
            stats.bits = max(_index_bits(values.size, flat.size) for values, flat in zip(per_layer, flats, strict=True))
        if self.with_weights:  # other blobs (biases, BatchNorm statistics...) count as kept
            stats.nonzero = stats.params - (stats.zeros or 0)
        return stats


def _index_bits(distinct: int, count: int) -> int:
    """Bits of a codebook index for this many distinct values among `count` weights; 32 (float32)
    past 256 of them, or when no value repeats (nothing suggests a codebook)."""
    return max(1, math.ceil(math.log2(distinct))) if distinct <= 256 and distinct < count else 32


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
        parts = [Part(conv.name, role, _size(counter.layers[conv.name].top_shapes[0]), _filter(graph, conv),
                      **asdict(counter.stats([conv.name]))) for role, conv in roles]
        names = [part.name for part in parts]
        sizes, depth = (node.s1x1, node.e1x1, node.e3x3), 2
    return Row(node.name, _kind(node), _size(graph.shape(node.outputs[0])), _filter(graph, node), depth,
               *sizes, **asdict(counter.stats(names)), layers=names, parts=parts)


def _fold(row: Row, activation: Node, counter: _Counter) -> None:
    extra = counter.stats([activation.name])
    row.params += extra.params
    if row.nonzero is not None:
        row.nonzero += extra.params
    row.layers.append(activation.name)


def inspect_net(prototxt: str | Path, weights: str | Path | None = None,
                input_shapes: Mapping[str, Shape] | None = None) -> Table:
    """Table 1 for a prototxt; with weights (caffemodel or Deep Compression .net) also sparsity."""
    from converter.pipeline import build_graph

    net = load_net(prototxt, weights, input_shapes)
    counts = {layer.name: _param_count(layer) for layer in net.layers}
    counter = _Counter(net, weights is not None)
    _add_placeholders(net)
    graph = build_graph(net, fold_batchnorm=False)  # one row per Caffe layer, its own parameters
    prototxt = Path(prototxt)
    inputs = {name: list(shape) for name, shape in net.inputs.items()}
    table = Table(net.name or f"{prototxt.parent.name}/{prototxt.name}", inputs, weights is not None)
    if weights is not None:
        table.weights_file, table.weights_file_bytes = Path(weights).name, Path(weights).stat().st_size
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
COLUMNS = [("name", "layer"), ("type", "type"), ("output", "output HxWxC"), ("filter", "filter"),
           ("depth", "depth"), ("s1x1", "s1x1"), ("e1x1", "e1x1"), ("e3x3", "e3x3"), ("params", "params"),
           ("nonzero", "nonzero"), ("sparsity", "sparsity"), ("distinct", "distinct"), ("bits", "bits")]
FIRE_COLUMNS = {"s1x1", "e1x1", "e3x3"}
WEIGHT_COLUMNS = {"nonzero", "sparsity", "distinct", "bits"}
LEFT_ALIGNED = {"name", "type", "output", "filter"}


def _columns(table: Table) -> list[tuple[str, str]]:
    """The columns worth printing: Fire sizes only for nets with Fire rows, statistics only with weights."""
    has_fire = any(row.parts for row in table.rows)
    return [(key, title) for key, title in COLUMNS
            if (has_fire or key not in FIRE_COLUMNS) and (table.with_weights or key not in WEIGHT_COLUMNS)]


def _fmt(value: object, key: str) -> str:
    if value is None:
        return ""
    if key == "sparsity" and isinstance(value, float):
        return f"{value:.1%}"
    return f"{value:,}" if key in ("params", "nonzero", "distinct") and isinstance(value, int) else str(value)


def _cells(table: Table, indent: str) -> tuple[list[str], list[list[str]], list[str]]:
    """Header, body rows (with weights, each Fire row followed by its three convolutions, named
    after `indent`), totals row."""
    columns = _columns(table)
    body = []
    for row in table.rows:
        body.append([_fmt(getattr(row, key), key) for key, _ in columns])
        for part in row.parts or [] if table.with_weights else []:
            values = {**asdict(part), "name": indent + part.name, "type": part.role}
            body.append([_fmt(values.get(key), key) for key, _ in columns])
    totals = {"name": "total", "depth": sum(r.depth for r in table.rows), "params": table.params,
              "nonzero": table.nonzero, "sparsity": table.sparsity, "distinct": table.distinct}
    return [title for _, title in columns], body, [_fmt(totals.get(key), key) for key, _ in columns]


def summary(table: Table) -> list[str]:
    """Lines of totals under the table."""
    t = table.totals()
    inputs = ", ".join(f"{name} {'x'.join(map(str, shape))}" for name, shape in table.inputs.items())
    lines = [f"{t['params']:,} parameters ({t['weights']:,} weights, {t['biases_and_other']:,} biases and other), "
             f"depth {t['depth']}",
             f"float32 size: {t['fp32_bytes']:,} bytes = {t['fp32_mb']:.2f} MB ({t['fp32_mib']:.2f} MiB); "
             f"input {inputs}"]
    if table.with_weights:
        lines.append(f"weights: {t['zeros']:,} exactly zero (sparsity {table.sparsity or 0:.2%}), "
                     f"{t['nonzero']:,} parameters nonzero, {t['distinct']:,} distinct values")
        size = table.weights_file_bytes or 0
        lines.append(f"weights file {table.weights_file}: {size:,} bytes = {size / 1e6:.2f} MB "
                     f"({size / 2**10:.1f} KiB), {size / t['fp32_bytes']:.1%} of the float32 size")
        lines.append("(sparsity = fraction of weights exactly zero; the paper's sparsity columns give the "
                     "fraction kept)")
    return lines


def format_text(table: Table) -> str:
    header, body, totals = _cells(table, indent="  ")
    columns = _columns(table)
    widths = [max(len(x) for x in col) for col in zip(header, *body, totals, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if key in LEFT_ALIGNED else c.rjust(w)
                         for (key, _), c, w in zip(columns, cells, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([table.model, line(header), rule, *map(line, body), rule, line(totals), "", *summary(table)])


def _md(cell: str) -> str:
    return cell.replace("\\", "\\\\").replace("|", "\\|")


def format_markdown(table: Table) -> str:
    header, body, totals = _cells(table, indent="")
    lines = ["| " + " | ".join(map(_md, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(_md, row)) + " |" for row in body]
    lines.append("| " + " | ".join(f"**{_md(c)}**" if c else "" for c in totals) + " |")
    return "\n".join(lines) + "\n\n" + "  \n".join(summary(table)) + "\n"
