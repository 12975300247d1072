"""The library entry points: load, build the IR, emit, verify. The CLI is a thin layer over these.

Heavy libraries (onnx, onnxruntime, torch) are imported only by the steps that need them.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from converter.backends import BACKENDS, Models, describe
from converter.caffe.loader import layers_with_parameters, load_net
from converter.caffe.net import CaffeNet, Shape
from converter.defaults import DEFAULT_OPSET, DEFAULT_TOLERANCE, SUPPORTED_OPSETS
from converter.errors import ConverterError, WeightsError
from converter.fileio import FileDigest, check_outputs, read_input_bytes
from converter.ir import Graph
from converter.lift import lift
from converter.passes.fire import fuse_fire
from converter.passes.identity import remove_identities
from converter.verify import Report, default_inputs, load_recorded_for, package_versions, verify

if TYPE_CHECKING:
    import onnx

    from converter.emit.onnx import OnnxModel
    from converter.emit.torch import TorchExport

WEIGHTS_SUFFIXES = {"pytorch": ".pth", "safetensors": ".safetensors"}
COMPANION_SUFFIXES = (".onnx", ".onnx.data", ".pth", ".py", ".report.json", ".compact.onnx")
GENERIC_STEMS = {"deploy", "train_val", "trainval", "train", "test", "model", "net"}


def build_graph(net: CaffeNet, *, fuse: bool = True, fold_batchnorm: bool = True,
                digests: Mapping[Path, FileDigest] | None = None) -> Graph:
    """The canonical IR of a loaded net: in-place tops resolved, identities gone, BatchNorm/Scale
    folded into the convolution or InnerProduct before them (unless `fold_batchnorm` is false),
    Fires fused.

    Its metadata records the source files and their sha256 (`digests` already started, by path;
    the others are started here), and the input layout.
    """
    graph = lift(net)
    remove_identities(graph)
    if fold_batchnorm:
        from converter.passes.batchnorm import fold_batchnorm as fold

        fold(graph)
    if fuse:
        fuse_fire(graph)
    graph.metadata.update(_provenance(net, digests or {}))
    sources = " + ".join(path.name for path in net.source_files) or "an in-memory net"
    graph.doc = f"{net.name or 'unnamed net'}: converted from Caffe ({sources}) by squeeze-convert"
    return graph


def _provenance(net: CaffeNet, digests: Mapping[Path, FileDigest]) -> dict[str, object]:
    meta: dict[str, object] = {"converter": "squeeze-convert"}
    for i, path in enumerate(net.source_files):
        meta[f"source.{i}.file"] = path.name
        meta[f"source.{i}.sha256"] = digests.get(path) or FileDigest(path)
    for name, shape in net.inputs.items():
        # The batch is the model's symbolic N, whatever batch the verification ran with.
        dims = "x".join(["N", *map(str, shape[1:])]) if shape else "scalar"
        meta[f"input.{name}"] = f"NCHW float32 {dims}" if len(shape) == 4 else f"float32 {dims}"
    return meta


@dataclass
class Conversion:
    net: CaffeNet
    graph: Graph
    onnx_export: OnnxModel | None = None
    torch_export: TorchExport | None = None
    report: Report | None = None
    written: list[Path] = field(default_factory=list)
    # The files the PyTorch weights go to: "pytorch" (<stem>.pth), "safetensors" (<stem>.safetensors).
    weights_formats: tuple[str, ...] = ("pytorch",)
    # Other files the conversion read (recorded blobs): outputs must never replace them either.
    other_inputs: list[Path] = field(default_factory=list)
    # Models converted earlier that verification runs instead of exports of its own: run -> file.
    artifacts: dict[str, Path] = field(default_factory=dict)

    @property
    def input_files(self) -> list[Path]:
        return [*self.net.source_files, *self.other_inputs]

    def add_input(self, path: str | Path) -> None:
        """Record another file the conversion read (once, however often it is read)."""
        if Path(path) not in self.other_inputs:
            self.other_inputs.append(Path(path))

    @property
    def onnx_model(self) -> onnx.ModelProto | None:
        """The emitted ONNX model as one in-memory ModelProto (weights copied in)."""
        return self.onnx_export.to_proto() if self.onnx_export is not None else None


def output_stem(prototxt: str | Path, net: CaffeNet) -> str:
    """The outputs' file stem: the prototxt's, or its folder's for a generic name (deploy, ...)."""
    prototxt = Path(prototxt)
    stem = prototxt.stem
    if stem.lower() in GENERIC_STEMS:
        stem = prototxt.resolve().parent.name or net.name or stem
    stem = re.sub(r"\W+", "_", stem).strip("_") or "model"
    return stem if not stem[0].isdigit() else f"model_{stem}"


def find_weights(prototxt: str | Path) -> Path | None:
    """The single .caffemodel beside the prototxt (the path as given), if there is exactly one."""
    found = sorted(Path(prototxt).parent.glob("*.caffemodel"))
    if len(found) > 1:
        raise ConverterError(f"several .caffemodel files beside {prototxt}: "
                             f"{', '.join(p.name for p in found)}; choose one with --weights")
    return found[0] if found else None


def run_verification(
    conversion: Conversion,
    *,
    backends: Sequence[str] = ("onnxruntime", "pytorch"),
    opset: int = DEFAULT_OPSET,
    inputs: Mapping[str, np.ndarray] | None = None,
    expect: str | Path | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Report:
    """Compare every blob the IR keeps, per backend, with what Caffe recorded (`expect`) or else
    with the reference executor; the report is also kept as `conversion.report`.

    After `emit`, the ONNX Runtime and PyTorch runs run the emitted exports themselves, the ones
    `save` writes (`opset` then does not apply: the export keeps its own); without them each run
    emits its own model from the graph. `report.runs` says what each run ran.
    """
    from converter.memory import check_fits

    net, graph = conversion.net, conversion.graph
    check_tolerance(tolerance)
    check_opset(opset)
    if isinstance(backends, str) or not backends:
        raise ConverterError(f"backends must name at least one run to compare ({', '.join(BACKENDS)}); "
                             f"got {backends!r}")
    if inputs is not None:
        inputs = check_inputs(net, inputs)
    check_fits(net, 1 + len(backends), "verification")
    recorded_layers: dict[tuple[str, str], np.ndarray] = {}
    recorded_outputs: dict[str, np.ndarray] = {}
    if expect is not None:
        conversion.add_input(expect)
        recorded = load_recorded_for(net, expect)
        inputs, recorded_layers, recorded_outputs = recorded.inputs, recorded.layers, recorded.outputs
    elif inputs is None:
        inputs = default_inputs(net)
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        raise ConverterError(f"unknown verification backend {', '.join(unknown)}; choose from {', '.join(BACKENDS)}")
    models = Models(net, opset, conversion.onnx_export, conversion.torch_export, conversion.artifacts)
    chosen = {name: BACKENDS[name](models) for name in backends}
    # An unnamed net is called after its files, as its outputs are (not the graph's placeholder name).
    model = net.name or (output_stem(net.source_files[0], net) if net.source_files else graph.name)
    report = verify(net, graph, chosen, dict(inputs), recorded_layers, recorded_outputs, tolerance, model=model)
    report.runs = {name: describe(name, models) for name in backends}
    report.versions = package_versions()
    if conversion.torch_export is not None:
        report.notes += [f"PyTorch: {note}" for note in conversion.torch_export.notes]
    conversion.report = report
    return report


def load_artifacts(conversion: Conversion, onnx_file: str | Path | None = None,
                   torch_module: str | Path | None = None) -> None:
    """Verify models converted earlier (and perhaps edited since) instead of exports of this
    conversion: the ONNX model `onnx_file` (external data beside it), the PyTorch module source
    `torch_module` with the state_dict `<its stem>.pth` beside it. Blobs are found by the tensor
    names and submodules this converter gives them; a tensor the file no longer has is not compared."""
    if onnx_file is not None:
        import onnx

        from converter.emit.onnx import OnnxModel

        onnx_file = Path(onnx_file)
        try:
            model = onnx.load(onnx_file)
        except Exception as error:  # noqa: BLE001 - onnx raises protobuf's DecodeError, OSError, ...
            raise ConverterError(f"{onnx_file}: not a readable ONNX model ({type(error).__name__}: {error})") from None
        conversion.onnx_export = OnnxModel.from_proto(model)
        conversion.artifacts["onnxruntime"] = onnx_file
        conversion.add_input(onnx_file)
    if torch_module is not None:
        import torch

        from converter.emit.torch import TorchExport, emit_torch

        torch_module = Path(torch_module)
        state_file = torch_module.with_suffix(".pth")
        if not state_file.is_file():
            raise ConverterError(f"{torch_module}: its state_dict {state_file.name} is not beside it")
        try:
            state = torch.load(state_file, map_location="cpu", weights_only=True)
        except Exception as error:  # noqa: BLE001 - torch raises many kinds for a damaged file
            raise ConverterError(f"{state_file}: not a readable state_dict ({type(error).__name__}: {error})") from None
        source = torch_module.read_text(encoding="utf-8", errors="replace")
        emitted = emit_torch(conversion.graph)  # for the submodules the blobs come out of
        classes = re.findall(r"^class (\w+)\(", source, re.MULTILINE)
        if not classes:
            raise ConverterError(f"{torch_module}: defines no module class")
        name = emitted.class_name if emitted.class_name in classes else classes[-1]
        conversion.torch_export = TorchExport(source, state, emitted.taps, name, emitted.notes)
        conversion.artifacts["pytorch"] = torch_module
        conversion.add_input(torch_module)
        conversion.add_input(state_file)


def convert(
    prototxt: str | Path,
    weights: str | Path | None = None,
    *,
    input_shapes: Mapping[str, Shape] | None = None,
    fuse: bool = True,
    fold_batchnorm: bool = True,
    digests: Mapping[Path, FileDigest] | None = None,
    caffe_proto: str | Path | None = None,
) -> Conversion:
    """Load a Caffe model and build its IR (nothing written). Emit and verify with the functions below.

    `caffe_proto` is a fork's own caffe.proto to read the prototxt with (compiled at run time; fields
    the converter does not know are refused, naming layer, field and file:line).

    The source files' sha256 (for the metadata) is computed in the background from here on (or
    from earlier: `digests` already started, by path), and waited for only when the metadata is
    written: last, after a streamed ONNX file's weights.
    """
    sources = [Path(prototxt), *([Path(weights)] if weights is not None else [])]
    digests = {path: (digests or {}).get(path) or FileDigest(path) for path in sources}
    net = load_net(prototxt, weights, input_shapes, caffe_proto)
    if weights is None and (needing := layers_with_parameters(net)):
        shown = ", ".join(needing[:4]) + (f" and {len(needing) - 4} more" if len(needing) > 4 else "")
        raise WeightsError(f"no weights given, and {len(needing)} layers hold parameters ({shown}): "
                           "pass a .caffemodel (--weights, or the only one beside the prototxt; demo weights: "
                           "`squeeze-convert make-weights`)")
    return Conversion(net=net, graph=build_graph(net, fuse=fuse, fold_batchnorm=fold_batchnorm, digests=digests))


def emit(conversion: Conversion, *, formats: Sequence[str] = ("onnx", "pytorch"), opset: int = DEFAULT_OPSET) -> None:
    """Build the exports `formats` name: "onnx", "pytorch" (the module, weights as <stem>.pth),
    "safetensors" (the module, weights as <stem>.safetensors)."""
    check_opset(opset)
    known = {"onnx", *WEIGHTS_SUFFIXES}
    unknown = sorted({str(f) for f in formats} - known) if not isinstance(formats, str) else [formats]
    if unknown or not formats:
        raise ConverterError(f"formats must be some of 'onnx', 'pytorch', 'safetensors'; got {formats!r}")
    if "onnx" in formats:
        from converter.emit.onnx import build_onnx

        conversion.onnx_export = build_onnx(conversion.graph, opset=opset)
    weights_formats = tuple(f for f in WEIGHTS_SUFFIXES if f in formats)
    if weights_formats:
        from converter.emit.torch import emit_torch

        conversion.torch_export = emit_torch(conversion.graph)
        conversion.weights_formats = weights_formats


def compact_onnx_for(conversion: Conversion) -> onnx.ModelProto:
    """The ONNX model in codebook form, for nets whose weights came from a Deep Compression file.

    Its expansion is run once (ONNX Runtime, constant inputs only) and must give the emitted
    model's weights bit for bit; the rest of the graph is the emitted model's, so its outputs
    are then the emitted model's too. Raises VerificationError otherwise.
    """
    from converter.caffe.deep_compression import decode, looks_like_deep_compression
    from converter.emit.onnx.compact import StoredWeight, compact_onnx

    weights = conversion.net.source_files[1:]
    if conversion.onnx_export is None or not weights or not looks_like_deep_compression(weights[0], conversion.net):
        raise ConverterError("--compact keeps the stored form of Deep Compression weights: it needs ONNX output "
                             "and a Deep Compression file (.net) as --weights")
    layers = {f"{q.name}.weight": q for q in decode(read_input_bytes(weights[0]), conversion.net, str(weights[0]))}
    dense = dict(conversion.onnx_export.weights)
    changed = [name for name, q in layers.items()
               if name not in dense or not np.array_equal(dense[name], q.weight(), equal_nan=True)]
    if changed:  # e.g. BatchNorm folding rescaled a convolution: its stored form is not the model's weight
        raise ConverterError(f"--compact: conversion changed the stored weights of {', '.join(changed)} "
                             "(BatchNorm folding? --no-fold keeps them), so they cannot be kept in their stored form")
    stored = {name: StoredWeight(codebook=q.codebook, packed_codes=q.packed_codes, packed_gaps=q.packed_gaps,
                                 count=q.count, bits=q.bits, weight_shape=tuple(q.weight_shape))
              for name, q in layers.items()}
    model = compact_onnx(conversion.onnx_export, stored)
    _check_expansion(model, dense)
    return model


def _check_expansion(compact: onnx.ModelProto, dense: Mapping[str, np.ndarray]) -> None:
    from converter.emit.onnx.compact import expanded_names, expanded_weights
    from converter.errors import VerificationError

    names = expanded_names(compact)
    expanded = expanded_weights(compact, names)
    differing = [name for name in names if name not in dense
                 or expanded[name].tobytes() != np.ascontiguousarray(dense[name]).tobytes()]
    if differing:
        raise VerificationError(f"compact ONNX: the expanded weights differ from the dense ones for "
                                f"{', '.join(differing)}; nothing compact written")


def planned_outputs(conversion: Conversion, out_dir: str | Path, stem: str, report: bool | None = None) -> list[Path]:
    """Every file `save` writes for what was emitted (the ONNX external data file included); the
    report by default when verification made one."""
    from converter.emit.onnx import model as onnx_model

    out_dir = Path(out_dir)
    planned: list[Path] = []
    if conversion.onnx_export is not None:
        planned.append(out_dir / f"{stem}.onnx")
        # Read where OnnxModel.save reads it, so both always agree on the external data file.
        if conversion.onnx_export.weight_bytes >= onnx_model.EXTERNAL_DATA_THRESHOLD:
            planned.append(out_dir / f"{stem}.onnx.data")
    if conversion.torch_export is not None:
        planned += [out_dir / f"{stem}{WEIGHTS_SUFFIXES[f]}" for f in conversion.weights_formats]
        planned.append(out_dir / f"{stem}.py")
    if conversion.report is not None if report is None else report:
        planned.append(out_dir / f"{stem}.report.json")
    return planned


def companions(out_dir: str | Path, stem: str) -> list[Path]:
    """Every file a conversion may write for `stem`: what one run does not write is stale beside
    what it does (an earlier run's), so it is replaced or removed with the new set."""
    out_dir = Path(out_dir)
    return [out_dir / f"{stem}{suffix}" for suffix in COMPANION_SUFFIXES]


def stale_companions(out_dir: str | Path, stem: str, planned: Sequence[Path]) -> list[Path]:
    """The companions of `stem` present in `out_dir` that this run will not write."""
    return [p for p in companions(out_dir, stem) if p not in planned and p.exists()]


def save(conversion: Conversion, out_dir: str | Path, stem: str, *, force: bool = False,
         report_json: Mapping[str, object] | None = None) -> list[Path]:
    """Write what was emitted as <stem>.onnx, <stem>.pth + <stem>.py, and <stem>.report.json (the
    verification report, `conversion.report`, when there is one; or `report_json`): all of them,
    or none if anything fails on the way. With `force` they replace an earlier run's, and that
    run's other files of the same stem (an .onnx.data, a report) are removed with it."""
    from converter.fileio import all_or_nothing, write_bytes_atomic

    out_dir = Path(out_dir)
    stem = check_stem(stem)
    if report_json is None and conversion.report is not None:
        report_json = report_document(conversion, stem)
    planned = planned_outputs(conversion, out_dir, stem, report_json is not None)
    stale = stale_companions(out_dir, stem, planned)
    check_outputs([*planned, *stale], conversion.input_files, force)
    with all_or_nothing(force=force, remove=stale):
        if conversion.onnx_export is not None:
            conversion.onnx_export.save(out_dir / f"{stem}.onnx")
        if conversion.torch_export is not None:
            from converter.emit.torch import save_torch

            weights = {f: out_dir / f"{stem}{WEIGHTS_SUFFIXES[f]}" for f in conversion.weights_formats}
            save_torch(conversion.torch_export, weights.get("pytorch"), out_dir / f"{stem}.py",
                       safetensors_path=weights.get("safetensors"))
        if report_json is not None:
            write_bytes_atomic(out_dir / f"{stem}.report.json", _json_bytes(report_json))
    conversion.written = planned
    return planned


def save_report(conversion: Conversion, out_dir: str | Path, stem: str, *, force: bool = False) -> Path:
    """Write the verification report alone as <stem>.report.json (after a mismatch no model is
    written, but the report says where the models diverge). With `force`, models an earlier run
    left under the same stem are removed with it: they are not what this report checked."""
    from converter.fileio import all_or_nothing, write_bytes_atomic

    if conversion.report is None:
        raise ValueError("no verification report to save: run_verification first")
    stem = check_stem(stem)
    path = Path(out_dir) / f"{stem}.report.json"
    stale = stale_companions(out_dir, stem, [path])
    check_outputs([path, *stale], conversion.input_files, force)
    with all_or_nothing(force=force, remove=stale):
        write_bytes_atomic(path, _json_bytes(report_document(conversion, stem)))
    return path


def check_tolerance(tolerance: float) -> float:
    """A tolerance is a finite, non-negative number (NaN would pass every comparison)."""
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float, np.floating, np.integer)) \
            or not math.isfinite(tolerance) or tolerance < 0:
        raise ConverterError(f"{tolerance!r} is not a finite, non-negative tolerance")
    return float(tolerance)


def check_opset(opset: int) -> int:
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or opset not in SUPPORTED_OPSETS:
        raise ConverterError(f"opset {opset!r} is not one the emitter writes "
                             f"({SUPPORTED_OPSETS[0]} to {SUPPORTED_OPSETS[-1]})")
    return int(opset)


def check_inputs(net: CaffeNet, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Values for exactly the net's inputs, each of the shape it takes, finite numbers: as float32."""
    if set(inputs) != set(net.inputs):
        raise ConverterError(f"inputs give {sorted(inputs)}, the net's inputs are {list(net.inputs)}")
    checked = {}
    for name, shape in net.inputs.items():
        value = np.asarray(inputs[name])
        if value.dtype.kind not in "fiub":
            raise ConverterError(f"input '{name}' holds {value.dtype} values, not numbers")
        if tuple(value.shape) != tuple(shape):
            raise ConverterError(f"input '{name}' has shape {list(value.shape)}, the net takes {list(shape)}")
        value = value.astype(np.float32)
        if not np.isfinite(value).all():
            raise ConverterError(f"input '{name}' holds NaN or infinite values")
        checked[name] = value
    return checked


def check_stem(stem: str) -> str:
    """An output stem is a plain file name: no folders (separators, '.', '..'), nothing invisible."""
    separators = {"/", os.sep, *([os.altsep] if os.altsep else [])}
    if (not isinstance(stem, str) or not stem or stem in (".", "..") or any(s in stem for s in separators)
            or any(not c.isprintable() for c in stem)):
        raise ConverterError(f"{stem!r} is not a plain file name stem (the folder is out_dir)")
    return stem


def report_document(conversion: Conversion, stem: str) -> dict[str, object]:
    """The report as written to <stem>.report.json: an unnamed net's model is called `stem`."""
    if conversion.report is None:
        raise ValueError("no verification report: run_verification first")
    document = conversion.report.to_json()
    if not conversion.net.name:
        document["model"] = stem
    # What was checked, so that a report is never mistaken for one about other files beside it.
    digests = {path: conversion.graph.metadata.get(f"source.{i}.sha256")
               for i, path in enumerate(conversion.net.source_files)}
    document["sources"] = [{"path": str(path), "sha256": str(digests.get(path) or FileDigest(path))}
                           for path in conversion.input_files]
    return document


def _json_bytes(document: Mapping[str, object]) -> bytes:
    from converter.fileio import json_text

    return (json_text(document) + "\n").encode()
