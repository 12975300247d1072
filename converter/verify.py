"""Numerical verification: every Caffe top that survives in the IR, per backend, against Caffe.

The truth for a blob is what real Caffe recorded for it when such a record is given (a golden
`blobs.npz`: `input|<name>`, `layer|<layer>|<top>`, `output|<top>`), otherwise the built-in
reference executor's value. The reference executor itself is checked against any record too.
Agreement: max|a-b| <= tolerance * max(1, max|b|) per blob; `rel_err` below is that ratio.
"""

from __future__ import annotations

import contextlib
import math
import zipfile
import zlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from converter.caffe.layers import LAYER_TYPES, ScoredRows
from converter.caffe.net import CaffeLayer, CaffeNet
from converter.caffe.reference import run_reference
from converter.defaults import DEFAULT_TOLERANCE
from converter.errors import ConverterError
from converter.fileio import open_input, progress
from converter.ir import Graph

Observed = Mapping[str | tuple[str, str], np.ndarray]
"""What a run observed: values by IR tensor name, or by Caffe (layer, top) for a run that sees
Caffe's own blobs (each top right after its layer ran, as `--expect` records them)."""
Backend = Callable[[Graph, dict[str, np.ndarray]], Observed]
"""Runs the converted model; returns the values it can observe."""


@dataclass
class Comparison:
    blob: str  # "<layer>|<top>", the Caffe layer that wrote the value and the blob it wrote
    backend: str
    tensor: str  # the IR tensor holding it ("" for the reference executor)
    shape: list[int]
    max_abs_err: float
    rel_err: float
    ok: bool
    # "caffe" (what real Caffe recorded: --expect), "reference" (the reference executor) or "ref+ties"
    # (the reference executor resolving near-tied MAX pooling windows as this run did: `follow_ties`)
    truth: str
    tolerance: float = DEFAULT_TOLERANCE  # this row's: 0 for an argmax mask, which must agree exactly


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
    versions: dict[str, str] = field(default_factory=dict)  # package -> version, of what verified

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
            "versions": self.versions,
            "comparisons": [asdict(c) for c in self.comparisons],
        }

    def to_junit(self) -> bytes:
        """The report as JUnit XML, which CI systems display: one testsuite (the model), one testcase per
        blob per run (classname: the run, name: the blob), a <failure> for each disagreement."""
        from xml.etree import ElementTree

        failures = sum(not c.ok for c in self.comparisons)
        suite = ElementTree.Element("testsuite", name=f"squeeze-convert verify {self.model}",
                                    tests=str(len(self.comparisons)), failures=str(failures), errors="0",
                                    skipped="0")
        properties = ElementTree.SubElement(suite, "properties")
        for key, value in [("tolerance", f"{self.tolerance:g}"), ("truth", self.truth),
                           *((f"version.{k}", v) for k, v in self.versions.items())]:
            ElementTree.SubElement(properties, "property", name=key, value=value)
        for c in self.comparisons:
            case = ElementTree.SubElement(suite, "testcase", classname=f"{self.model}.{c.backend}", name=c.blob)
            if not c.ok:
                against = {"caffe": "Caffe's recorded blob",
                           "ref+ties": "the reference executor taking the run's cells in near-tied pooling windows",
                           }.get(c.truth, "the reference executor")
                failure = ElementTree.SubElement(case, "failure", type="mismatch",
                                                 message=f"rel err {c.rel_err:.3g} > tolerance {c.tolerance:g}")
                failure.text = (f"{c.backend} differs from {against} at blob {c.blob} (layer "
                                f"{c.blob.split('|')[0]}, shape {c.shape}): max abs err {c.max_abs_err:.6g}, "
                                f"rel err {c.rel_err:.6g}, tolerance {c.tolerance:g}")
        suites = ElementTree.Element("testsuites", tests=suite.get("tests", "0"), failures=str(failures))
        suites.append(suite)
        ElementTree.indent(suites)
        return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="utf-8") + b"\n"


def package_versions() -> dict[str, str]:
    """The versions of what verification ran with (installed distributions; "not installed" else)."""
    from importlib import metadata

    versions = {}
    for package in ("squeeze-convert", "onnxruntime", "torch", "numpy", "onnx", "opencv-python-headless"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


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


def compare_scored_rows(actual: np.ndarray, expected: np.ndarray, tolerance: float,
                        layout: ScoredRows) -> tuple[float, float, bool]:
    """compare() for a top of scored detection rows (the last axis holds a row's columns). Row by row,
    the `group` columns (image, label) must be equal, and the rows the same within tolerance, except
    that rows of one group whose true scores lie within 2 * tolerance * scale of the next (one chain of
    near ties) may come in any order: those are matched to the true rows as a set."""
    if actual.shape != expected.shape or not expected.size:
        return compare(actual, expected, tolerance)
    columns = expected.shape[-1]
    a, b = actual.reshape(-1, columns).astype(np.float64), expected.reshape(-1, columns).astype(np.float64)
    group = list(layout.group)
    if not np.array_equal(a[:, group], b[:, group]):
        return float("inf"), float("inf"), False
    finite = np.isfinite(b)
    scale = max(1.0, float(np.abs(b[finite]).max()) if finite.any() else 0.0)
    slack = 2 * tolerance * scale
    matched = a.copy()
    start = 0
    while start < len(b):
        end = start + 1
        while (end < len(b) and np.array_equal(b[end, group], b[start, group])
               and abs(b[end, layout.score] - b[end - 1, layout.score]) <= slack):
            end += 1
        if end - start > 1:
            order = _match_rows(a[start:end], b[start:end], tolerance * scale)
            if order is not None:
                matched[start:end] = a[start:end][order]
        start = end
    return compare(matched.reshape(actual.shape).astype(np.float32), expected, tolerance)


def _match_rows(actual: np.ndarray, expected: np.ndarray, bound: float) -> list[int] | None:
    """For each expected row, a distinct actual row within `bound` of it (every column; non-finite
    values must be equal), or None when there is no such pairing (augmenting paths)."""
    with np.errstate(invalid="ignore"):
        same = actual[:, None, :] == expected[None, :, :]
        near = np.where(same, 0.0, np.abs(actual[:, None, :] - expected[None, :, :]))
    fits = np.nan_to_num(near, nan=np.inf).max(axis=2) <= bound  # fits[i, j]: actual i may be expected j
    owner = [-1] * len(expected)

    def place(i: int, seen: set[int]) -> bool:
        for j in np.flatnonzero(fits[i]):
            if j not in seen:
                seen.add(j)
                if owner[j] < 0 or place(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    if not all(place(i, set()) for i in range(len(actual))):
        return None
    return owner


RecordKey = tuple[str, ...]  # ("input", name), ("layer", layer, top) or ("output", top)


@dataclass
class _Member:
    info: zipfile.ZipInfo
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    data_offset: int


def _recorded_members(archive: zipfile.ZipFile, path: str | Path) -> dict[RecordKey, _Member]:
    """Every recorded blob's key and npy header, read without inflating its data."""
    members: dict[RecordKey, _Member] = {}
    for info in archive.infolist():
        parts = tuple(info.filename.removesuffix(".npy").split("|"))
        if (parts[0] in ("input", "output") and len(parts) == 2) or (parts[0] == "layer" and len(parts) == 3):
            members[parts] = _read_header(archive, info, path)
    return members


def _open_recorded(path: str | Path) -> tuple[Any, zipfile.ZipFile]:
    file = open_input(path)
    try:
        return file, zipfile.ZipFile(file)
    except BaseException:
        file.close()
        raise


def _reading_recorded(path: str | Path, read: Callable[[zipfile.ZipFile], Any]) -> Any:
    try:
        file, archive = _open_recorded(path)
        with file, archive:
            return read(archive)
    except ConverterError:
        raise
    except (OSError, EOFError, ValueError, RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error) as error:
        raise ConverterError(f"{path}: not a readable .npz of recorded blobs ({error})") from None


def recorded_shapes(path: str | Path) -> dict[RecordKey, tuple[int, ...]]:
    """The shape of every blob recorded in `path`, from the headers alone (nothing inflated)."""
    return _reading_recorded(path, lambda archive: {key: m.shape for key, m in
                                                    _recorded_members(archive, path).items()})


def load_recorded(path: str | Path, wanted: Collection[RecordKey] | None = None) -> tuple[
        dict[str, np.ndarray], dict[tuple[str, str], np.ndarray], dict[str, np.ndarray]]:
    """A golden blobs.npz as (inputs by name, layer blobs by (layer, top), outputs by top), as float32;
    with `wanted`, only those blobs (the others are never inflated).

    The file is a stranger's too: each member's header is checked (numbers, a sane size, exactly as
    many bytes as it declares) and the memory the wanted ones take compared with what is available
    before anything is inflated; nothing is ever unpickled.
    """
    def read(archive: zipfile.ZipFile) -> tuple[dict, dict, dict]:
        members = _recorded_members(archive, path)
        chosen = {key: m for key, m in members.items() if wanted is None or key in wanted}
        _check_room(path, chosen.values())
        inputs, layers, outputs = {}, {}, {}
        for key, member in chosen.items():
            value = _read_data(archive, member)
            if key[0] == "input":
                inputs[key[1]] = value
            elif key[0] == "layer":
                layers[(key[1], key[2])] = value
            else:
                outputs[key[1]] = value
        return inputs, layers, outputs

    inputs, layers, outputs = _reading_recorded(path, read)
    for name, value in inputs.items():
        if not np.isfinite(value).all():
            raise ConverterError(f"{path}: recorded input '{name}' holds NaN or infinite values")
    return inputs, layers, outputs


def _check_room(path: str | Path, members: Collection[_Member]) -> None:
    from converter.memory import available_bytes

    # Each is inflated in its own type, then converted to float32.
    needed = sum(math.prod(m.shape) * (m.dtype.itemsize + 4) for m in members)
    available = available_bytes()
    if available is not None and needed > available:
        raise ConverterError(f"{path}: the recorded blobs this net uses take {needed / 2**30:.1f} GiB inflated, "
                             f"{available / 2**30:.1f} GiB is available")


@dataclass
class RecordedBlobs:
    """What real Caffe recorded for a net, checked against it: its inputs by name, layer blobs by
    (layer, top), and network outputs by top."""

    inputs: dict[str, np.ndarray]
    layers: dict[tuple[str, str], np.ndarray]
    outputs: dict[str, np.ndarray]


def load_recorded_for(net: CaffeNet, path: str | Path) -> RecordedBlobs:
    """The blobs recorded in `path`, checked to belong to `net`: an input for each of the net's
    inputs, of the shape it takes, and every recorded layer blob of the shape the net makes.
    Shapes are checked from the headers, and only the blobs the net has are inflated."""
    shapes = recorded_shapes(path)
    missing = [name for name in net.inputs if ("input", name) not in shapes]
    if missing:
        raise ConverterError(f"{path} records no input for {', '.join(missing)}")
    for name, shape in net.inputs.items():
        if shapes[("input", name)] != tuple(shape):
            raise ConverterError(f"{path} records input '{name}' of shape {list(shapes[('input', name)])}, "
                                 f"the net takes {list(shape)}; pass the recorded shape with --input-shape")
    wanted: set[RecordKey] = {("input", name) for name in net.inputs}
    for layer in net.layers:
        for top, shape in zip(layer.tops, layer.top_shapes, strict=True):
            recorded = shapes.get(("layer", layer.name, top))
            if recorded is not None and recorded != tuple(shape):
                raise ConverterError(f"{path} records layer|{layer.name}|{top} of shape {list(recorded)}, "
                                     f"the net makes {list(shape)}: blobs of another net or input size?")
            wanted |= {("layer", layer.name, top), ("output", top)}
    recorded_inputs, layers, outputs = load_recorded(path, wanted)
    return RecordedBlobs({name: recorded_inputs[name] for name in net.inputs}, layers, outputs)


def _read_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str | Path) -> _Member:
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
        return _Member(info, tuple(int(d) for d in shape), dtype, bool(fortran_order), member.tell())


def _read_data(archive: zipfile.ZipFile, member: _Member) -> np.ndarray:
    size = math.prod(member.shape) * member.dtype.itemsize
    with archive.open(member.info) as stream:
        stream.read(member.data_offset)
        data = np.frombuffer(stream.read(size), dtype=member.dtype)
    if data.size != math.prod(member.shape):
        raise ConverterError(f"'{member.info.filename}' ends before its data does")
    return data.reshape(member.shape, order="F" if member.fortran_order else "C").astype(np.float32)


def default_inputs(net: CaffeNet, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.uniform(-1.0, 1.0, size=shape).astype(np.float32) for name, shape in net.inputs.items()}


def top5(scores: np.ndarray) -> list[int]:
    if scores.size == 0:  # no rows (e.g. Faster R-CNN's scores when no proposal survives)
        return []
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
    """Compare each backend's values with the truth, blob by blob.

    The reference executor runs first; then each backend in turn, its values compared and dropped
    before the next one runs, so memory holds about one forward pass per run at a time, not one
    per backend at once. A terminal shows a progress bar per run.
    """
    recorded_layers = dict(recorded_layers or {})
    for top, value in (recorded_outputs or {}).items():
        # A network output is the last value its blob took.
        writer = next((layer.name for layer in reversed(net.layers) if top in layer.tops), None)
        if writer is not None:
            recorded_layers.setdefault((writer, top), value)
    report = Report(model, tolerance, {k: list(v.shape) for k, v in inputs.items()},
                    "caffe" if recorded_layers else "reference")

    from converter.caffe.caffemodel import release_mapped_pages

    def layer_done(_layer: CaffeLayer) -> None:
        release_mapped_pages()  # only one layer's weights resident at a time
        bar.update(1)

    release_mapped_pages()  # what loading and emitting read of the weights
    with run_progress("reference", len(net.layers)) as bar:
        reference = run_reference(net, inputs, on_layer=layer_done)

    tensor_of: dict[tuple[str, str], str] = {}
    for tensor in graph.tensors.values():
        for source in tensor.sources:
            tensor_of[source] = tensor.name
    keys = [(layer, top) for layer in net.layers for top in layer.tops]
    rows: dict[tuple[str, str], list[Comparison]] = {(layer.name, top): [] for layer, top in keys}

    def add(layer: CaffeLayer, top: str, backend: str, tensor_name: str, value: np.ndarray,
            tied: Mapping[tuple[str, str], np.ndarray] | None = None) -> None:
        key = (layer.name, top)
        recorded = recorded_layers.get(key)
        truth, truth_kind = (recorded, "caffe") if recorded is not None else (reference[key], "reference")
        if recorded is None and tied is not None and tied[key] is not reference[key]:
            truth, truth_kind = tied[key], "ref+ties"
        # An argmax mask holds cell indices: any difference is another cell, however large the plane.
        row_tolerance = 0.0 if layer.type == "Pooling" and layer.tops.index(top) == 1 else tolerance
        scored_rows = LAYER_TYPES[layer.type].scored_rows
        if scored_rows is not None:  # detections: rows compared as Caffe's ties allow
            max_abs, rel, ok = compare_scored_rows(np.asarray(value), truth, tolerance, scored_rows)
        else:
            max_abs, rel, ok = compare(np.asarray(value), truth, row_tolerance)
        rows[key].append(Comparison(f"{layer.name}|{top}", backend, tensor_name, list(truth.shape), max_abs, rel,
                                    ok, truth_kind, row_tolerance))

    for layer, top in keys:
        if (layer.name, top) in recorded_layers:
            add(layer, top, "reference", "", reference[(layer.name, top)])
    tie_run: tuple[Masks, TieRun | None] | None = None  # the last backend's masks, what they gave
    for name, run in backends.items():
        release_mapped_pages()  # what the reference executor (or the run before) read of the weights
        with run_progress(name, len(keys) + 1) as bar:
            values = run(graph, inputs)
            bar.update(1)
            masks = _masks_of(net, values, tensor_of)
            if tie_run is None or not _same_masks(masks, tie_run[0]):
                tie_run = (masks, follow_ties(net, inputs, reference, masks, tolerance))
            tied, windows = tie_run[1] or (None, {})
            if windows:
                listed = ", ".join(f"{layer} {count}" for layer, count in windows.items())
                report.notes.append(
                    f"{name}: MAX pooling windows whose two largest cells are equal within the tolerance (a near-tie, "
                    f"which float32 rounding may resolve either way) took another cell than the reference executor "
                    f"(windows per layer: {listed}); its masks and the blobs they reach are compared with the "
                    f"reference executor taking the same cells (truth 'ref+ties')")
            for layer, top in keys:
                holder = tensor_of.get((layer.name, top))
                if (layer.name, top) in values:  # a run that observes Caffe's blobs themselves (pycaffe)
                    add(layer, top, name, "", values[(layer.name, top)], tied)
                elif holder is not None and holder in values:
                    add(layer, top, name, holder, values[holder], tied)
                bar.update(1)
            for output in graph.outputs:
                value = values.get(output)
                if value is not None and value.ndim >= 2 and value.shape[1] >= 5:
                    report.top5[name] = top5(value)
            del values
    report.comparisons = [row for key in rows for row in rows[key]]
    if graph.folded and backends:
        by_node: dict[str, list[str]] = {}
        for (layer_name, top), node_name in graph.folded.items():
            by_node.setdefault(node_name, []).append(f"{layer_name}|{top}")
        listed = "; ".join(f"{node}: {', '.join(blobs)}" for node, blobs in by_node.items())
        report.notes.append(f"{len(graph.folded)} blobs exist only inside the node that BatchNorm/Scale folding "
                            f"merged them into, so the runs could not compare them (--no-fold does): {listed}")
    return report


TieRun = tuple[dict[tuple[str, str], np.ndarray], dict[str, int]]
"""The reference executor's blobs with near-ties resolved as a run did, and the windows resolved per layer."""


Masks = dict[tuple[str, str], np.ndarray]
"""Argmax masks a run gave, by (MAX Pooling layer, mask top)."""


def _masks_of(net: CaffeNet, values: Observed, tensor_of: Mapping[tuple[str, str], str]) -> Masks:
    masks = {}
    for layer in net.layers:
        if layer.type == "Pooling" and len(layer.tops) == 2:
            key = (layer.name, layer.tops[1])
            value = values[key] if key in values else values.get(tensor_of.get(key, ""))
            if value is not None:
                masks[key] = np.asarray(value)
    return masks


def _same_masks(first: Masks, second: Masks) -> bool:
    return first.keys() == second.keys() and all(np.array_equal(first[k], second[k]) for k in first)


def follow_ties(net: CaffeNet, inputs: dict[str, np.ndarray], reference: Mapping[tuple[str, str], np.ndarray],
                masks: Masks, tolerance: float) -> TieRun | None:
    """When a run's argmax masks differ from the reference executor's, the reference executor run
    again taking the run's cell in every window where the two differ and the window's values tie
    within the tolerance (`pooling.follow_ties`): a near-tie that float32 rounding resolves either way
    (real Caffe alike) changes the mask and, through an unpooling, every blob after it, which says
    nothing about the conversion. A window the run resolved otherwise (another cell clearly below
    the maximum, or outside the window) is left as the reference has it, so its mismatch is reported.
    The blobs of that second run are the reference's own arrays wherever nothing changed them; None
    when no mask differs or no difference is a near-tie."""
    from converter.caffe.layers.pooling import follow_ties as follow_pooling_ties

    if all(np.array_equal(mask.reshape(-1), reference[key].reshape(-1)) for key, mask in masks.items()):
        return None
    windows: dict[str, int] = {}
    changed = False

    def adjust(layer: CaffeLayer, bottoms: list[np.ndarray], tops: list[np.ndarray]) -> list[np.ndarray]:
        nonlocal changed
        chosen = masks.get((layer.name, layer.tops[-1]))
        if layer.type == "Pooling" and chosen is not None and chosen.size == tops[1].size:
            followed = follow_pooling_ties(layer, bottoms[0], tops, chosen.reshape(tops[1].shape), tolerance)
            if followed is not None and followed[1]:
                tops = followed[0]
                windows[layer.name] = followed[1]
                changed = True
        # The reference's own arrays wherever the values are its own (all of them before the first
        # followed tie): those rows keep the reference as their truth.
        own = [reference[(layer.name, top)] for top in layer.tops]
        if not changed:
            return own
        return [mine if mine.shape == value.shape and np.array_equal(mine, value) else value
                for mine, value in zip(own, tops, strict=True)]

    rerun = run_reference(net, inputs, adjust=adjust)
    return (rerun, windows) if windows else None


def run_progress(name: str, steps: int) -> contextlib.AbstractContextManager[Any]:
    """A progress bar for one run (on a terminal only): the reference executor advances it layer
    by layer, a backend once its run is done and then blob by blob as they are compared."""
    return progress(steps, f"verify: {name}", minimum=0, unit="layer" if name == "reference" else "blob")


def format_table(report: Report, failures_only: bool = False) -> str:
    rows = [c for c in report.comparisons if c.ok is False or not failures_only]
    width = max([len(c.blob) for c in rows] + [4])
    lines = [f"{'blob':<{width}}  {'backend':<11} {'against':<9} {'shape':<20} {'max abs err':>12} {'rel err':>10} "
             f"{'tolerance':>9}  ok"]
    for c in rows:
        shape = "x".join(map(str, c.shape))
        lines.append(f"{c.blob:<{width}}  {c.backend:<11} {c.truth:<9} {shape:<20} {c.max_abs_err:>12.3g} "
                     f"{c.rel_err:>10.3g} {c.tolerance:>9.3g}  {'yes' if c.ok else 'NO'}")
    return "\n".join(lines)
