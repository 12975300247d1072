"""Numerical verification: every Caffe top that survives in the IR, per backend, against Caffe.

The truth for a blob is what real Caffe recorded for it when such a record is given (a golden
`blobs.npz`: `input|<name>`, `layer|<layer>|<top>`, `output|<top>`), otherwise the built-in
reference executor's value. The reference executor itself is checked against any record too.
Agreement: max|a-b| <= tolerance * max(1, max|b|) per blob; `rel_err` below is that ratio.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from converter.caffe.net import CaffeNet
from converter.caffe.reference import run_reference
from converter.defaults import DEFAULT_TOLERANCE
from converter.errors import ConverterError
from converter.fileio import open_input
from converter.ir import Graph

Backend = Callable[[Graph, dict[str, np.ndarray]], dict[str, np.ndarray]]
"""Runs the converted model; returns values by IR tensor name (as many as it can observe)."""


@dataclass
class Comparison:
    blob: str  # "<layer>|<top>", the Caffe layer that wrote the value and the blob it wrote
    backend: str
    tensor: str  # the IR tensor holding it ("" for the reference executor)
    shape: list[int]
    max_abs_err: float
    rel_err: float
    ok: bool
    truth: str  # "caffe" (recorded) or "reference"


@dataclass
class Report:
    model: str
    tolerance: float
    inputs: dict[str, list[int]]
    truth: str
    comparisons: list[Comparison] = field(default_factory=list)
    top5: dict[str, list[int]] = field(default_factory=dict)
    runs: dict[str, str] = field(default_factory=dict)  # backend -> what it ran
    notes: list[str] = field(default_factory=list)  # the exports' notes (how they differ from the usual layouts)

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.comparisons)

    @property
    def first_failure(self) -> Comparison | None:
        return next((c for c in self.comparisons if not c.ok), None)

    def to_json(self) -> dict[str, object]:
        first = self.first_failure
        return {
            "model": self.model,
            "passed": self.passed,
            "tolerance": self.tolerance,
            "rule": "max|a-b| <= tolerance * max(1, max|b|)",
            "truth": self.truth,
            "inputs": self.inputs,
            "first_diverging_layer": first.blob.split("|")[0] if first else None,
            "first_failure": asdict(first) if first else None,
            "top5": self.top5,
            "runs": self.runs,
            "notes": self.notes,
            "comparisons": [asdict(c) for c in self.comparisons],
        }


def compare(actual: np.ndarray, expected: np.ndarray, tolerance: float) -> tuple[float, float, bool]:
    """(max abs error, relative error, within tolerance). Non-finite values must match exactly
    (inf of the same sign, NaN for NaN); the error is measured over the finite ones."""
    if actual.shape != expected.shape:
        return float("inf"), float("inf"), False
    a, b = actual.astype(np.float64), expected.astype(np.float64)
    finite = np.isfinite(b)
    same_special = np.where(np.isnan(b), np.isnan(a), a == b)
    if not np.all(np.isfinite(a) == finite) or not np.all(same_special | finite):
        return float("inf"), float("inf"), False
    diff = np.abs(a[finite] - b[finite])
    max_abs = float(diff.max()) if diff.size else 0.0
    scale = max(1.0, float(np.abs(b[finite]).max()) if diff.size else 0.0)
    return max_abs, max_abs / scale, max_abs <= tolerance * scale


def load_recorded(path: str | Path) -> tuple[dict[str, np.ndarray], dict[tuple[str, str], np.ndarray],
                                               dict[str, np.ndarray]]:
    """A golden blobs.npz as (inputs by name, layer blobs by (layer, top), outputs by top), as float32.

    The file is a stranger's too: each member's header is checked (numbers, a sane size, exactly as
    many bytes as it declares) before anything is allocated, and nothing is ever unpickled.
    """
    inputs, layers, outputs = {}, {}, {}
    try:
        with open_input(path) as file, zipfile.ZipFile(file) as archive:
            for info in archive.infolist():
                key = info.filename.removesuffix(".npy")
                parts = key.split("|")
                if parts[0] == "input" and len(parts) == 2:
                    inputs[parts[1]] = _read_member(archive, info, path)
                elif parts[0] == "layer" and len(parts) == 3:
                    layers[(parts[1], parts[2])] = _read_member(archive, info, path)
                elif parts[0] == "output" and len(parts) == 2:
                    outputs[parts[1]] = _read_member(archive, info, path)
    except ConverterError:
        raise
    except (OSError, EOFError, ValueError, RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error) as error:
        raise ConverterError(f"{path}: not a readable .npz of recorded blobs ({error})") from None
    for name, value in inputs.items():
        if not np.isfinite(value).all():
            raise ConverterError(f"{path}: recorded input '{name}' holds NaN or infinite values")
    return inputs, layers, outputs


@dataclass
class RecordedBlobs:
    """What real Caffe recorded for a net, checked against it: its inputs by name, layer blobs by
    (layer, top), and network outputs by top."""

    inputs: dict[str, np.ndarray]
    layers: dict[tuple[str, str], np.ndarray]
    outputs: dict[str, np.ndarray]


def load_recorded_for(net: CaffeNet, path: str | Path) -> RecordedBlobs:
    """The blobs recorded in `path`, checked to belong to `net`: an input for each of the net's
    inputs, of the shape it takes, and every recorded layer blob of the shape the net makes."""
    recorded_inputs, layers, outputs = load_recorded(path)
    missing = [name for name in net.inputs if name not in recorded_inputs]
    if missing:
        raise ConverterError(f"{path} records no input for {', '.join(missing)}")
    for name, shape in net.inputs.items():
        if tuple(recorded_inputs[name].shape) != tuple(shape):
            raise ConverterError(f"{path} records input '{name}' of shape {list(recorded_inputs[name].shape)}, "
                                 f"the net takes {list(shape)}; pass the recorded shape with --input-shape")
    for layer in net.layers:
        for top, shape in zip(layer.tops, layer.top_shapes, strict=True):
            value = layers.get((layer.name, top))
            if value is not None and tuple(value.shape) != tuple(shape):
                raise ConverterError(f"{path} records layer|{layer.name}|{top} of shape {list(value.shape)}, "
                                     f"the net makes {list(shape)}: blobs of another net or input size?")
    return RecordedBlobs({name: recorded_inputs[name] for name in net.inputs}, layers, outputs)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str | Path) -> np.ndarray:
    from numpy.lib import format as npy

    from converter.caffe.loader import MAX_BLOB_AXES, MAX_BLOB_ELEMENTS

    with archive.open(info) as member:
        version = npy.read_magic(member)
        read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, fortran_order, dtype = read_header(member)
        where = f"{path}: '{info.filename}'"
        if dtype.kind not in "fiu" or dtype.hasobject:
            raise ConverterError(f"{where} holds {dtype} values, not numbers")
        if len(shape) > MAX_BLOB_AXES or math.prod(shape) > MAX_BLOB_ELEMENTS:
            raise ConverterError(f"{where} declares shape {list(shape)}, larger than any blob allowed")
        size = math.prod(shape) * dtype.itemsize
        if info.file_size != member.tell() + size:
            raise ConverterError(f"{where} holds {info.file_size - member.tell()} bytes of data, its header "
                                 f"declares {size}")
        data = np.frombuffer(member.read(size), dtype=dtype)
    return data.reshape(shape, order="F" if fortran_order else "C").astype(np.float32)


def default_inputs(net: CaffeNet, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.uniform(-1.0, 1.0, size=shape).astype(np.float32) for name, shape in net.inputs.items()}


def top5(scores: np.ndarray) -> list[int]:
    flat = scores.reshape(scores.shape[0], -1)[0]
    return [int(i) for i in np.argsort(-flat, kind="stable")[:5]]


def verify(
    net: CaffeNet,
    graph: Graph,
    backends: Mapping[str, Backend],
    inputs: dict[str, np.ndarray],
    recorded_layers: Mapping[tuple[str, str], np.ndarray] | None = None,
    recorded_outputs: Mapping[str, np.ndarray] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    model: str = "",
) -> Report:
    recorded_layers = dict(recorded_layers or {})
    for top, value in (recorded_outputs or {}).items():
        # A network output is the last value its blob took.
        writer = next((layer.name for layer in reversed(net.layers) if top in layer.tops), None)
        if writer is not None:
            recorded_layers.setdefault((writer, top), value)
    report = Report(model, tolerance, {k: list(v.shape) for k, v in inputs.items()},
                    "caffe" if recorded_layers else "reference")

    reference = run_reference(net, inputs)
    results = {name: run(graph, inputs) for name, run in backends.items()}

    tensor_of: dict[tuple[str, str], str] = {}
    for tensor in graph.tensors.values():
        for source in tensor.sources:
            tensor_of[source] = tensor.name

    for layer in net.layers:
        for top in layer.tops:
            key = (layer.name, top)
            recorded = recorded_layers.get(key)
            truth, truth_kind = (recorded, "caffe") if recorded is not None else (reference[key], "reference")
            rows: list[tuple[str, str, np.ndarray]] = []
            if recorded is not None:
                rows.append(("reference", "", reference[key]))
            holder = tensor_of.get(key)
            if holder is not None:
                rows.extend((name, holder, values[holder]) for name, values in results.items()
                            if holder in values)
            # An argmax mask holds cell indices: any difference is another cell, however large the plane.
            exact = layer.type == "Pooling" and layer.tops.index(top) == 1
            for backend, tensor_name, value in rows:
                max_abs, rel, ok = compare(np.asarray(value), truth, 0.0 if exact else tolerance)
                report.comparisons.append(Comparison(f"{layer.name}|{top}", backend, tensor_name,
                                                     list(truth.shape), max_abs, rel, ok, truth_kind))
    if graph.folded and results:
        by_node: dict[str, list[str]] = {}
        for (layer_name, top), node_name in graph.folded.items():
            by_node.setdefault(node_name, []).append(f"{layer_name}|{top}")
        listed = "; ".join(f"{node}: {', '.join(blobs)}" for node, blobs in by_node.items())
        report.notes.append(f"{len(graph.folded)} blobs exist only inside the node that BatchNorm/Scale folding "
                            f"merged them into, so the runs could not compare them (--no-fold does): {listed}")
    for output in graph.outputs:
        for name, values in results.items():
            if output in values and values[output].ndim >= 2 and values[output].shape[1] >= 5:
                report.top5[name] = top5(values[output])
    return report


def format_table(report: Report, failures_only: bool = False) -> str:
    rows = [c for c in report.comparisons if c.ok is False or not failures_only]
    width = max([len(c.blob) for c in rows] + [4])
    lines = [f"{'blob':<{width}}  {'backend':<11} {'shape':<20} {'max abs err':>12} {'rel err':>10}  ok"]
    for c in rows:
        shape = "x".join(map(str, c.shape))
        lines.append(f"{c.blob:<{width}}  {c.backend:<11} {shape:<20} {c.max_abs_err:>12.3g} "
                     f"{c.rel_err:>10.3g}  {'yes' if c.ok else 'NO'}")
    return "\n".join(lines)
