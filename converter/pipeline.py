"""The library entry points: load, build the IR, emit, verify. The CLI is a thin layer over these.

Heavy libraries (onnx, onnxruntime, torch) are imported only by the steps that need them.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from converter.caffe.loader import load_net
from converter.caffe.net import CaffeNet, Shape
from converter.errors import ConverterError, OutputError
from converter.ir import Graph
from converter.lift import lift
from converter.passes.fire import fuse_fire
from converter.passes.identity import remove_identities
from converter.verify import DEFAULT_TOLERANCE, Backend, Report, default_inputs, load_recorded, verify

if TYPE_CHECKING:
    import onnx

    from converter.emit.onnx import OnnxModel
    from converter.emit.torch import TorchExport

GENERIC_STEMS = {"deploy", "train_val", "trainval", "train", "test", "model", "net"}


def build_graph(net: CaffeNet, *, fuse: bool = True, fold_batchnorm: bool = False) -> Graph:
    """The canonical IR of a loaded net: in-place tops resolved, identities gone, Fires fused."""
    graph = lift(net)
    remove_identities(graph)
    if fold_batchnorm:
        from converter.passes.batchnorm import fold_batchnorm as fold

        fold(graph)
    if fuse:
        fuse_fire(graph)
    graph.metadata.update(_provenance(net))
    return graph


def _provenance(net: CaffeNet) -> dict[str, str]:
    meta = {"converter": "squeeze-convert"}
    for i, path in enumerate(net.source_files):
        meta[f"source.{i}.file"] = path.name
        meta[f"source.{i}.sha256"] = sha256_of(path)
    for name, shape in net.inputs.items():
        meta[f"input.{name}"] = "NCHW float32 " + "x".join(map(str, shape)) if len(shape) == 4 else str(shape)
    return meta


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def onnx_backend(opset: int) -> Backend:
    def run(graph: Graph, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import onnxruntime as ort

        from converter.emit.onnx import emit_onnx

        hidden = [t for t in graph.tensors if t not in graph.inputs and t not in graph.outputs]
        model = emit_onnx(graph, opset=opset, extra_outputs=hidden)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        return dict(zip(names, session.run(names, inputs), strict=True))

    return run


def torch_backend() -> Backend:
    def run(graph: Graph, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        from converter.emit.torch import emit_torch, load_module

        export = emit_torch(graph)
        module = load_module(export)
        seen: dict[str, np.ndarray] = {}
        for path, tensors in export.taps.items():
            def hook(_m: Any, _i: Any, out: Any, tensors: tuple[str, ...] = tensors) -> None:
                values = out if isinstance(out, tuple) else (out,)
                seen.update((name, value.detach().numpy().copy()) for name, value in zip(tensors, values, strict=True))

            module.get_submodule(path).register_forward_hook(hook)
        with torch.no_grad():
            outs = module(*(torch.from_numpy(inputs[name]) for name in graph.inputs))
        outs = outs if isinstance(outs, (tuple, list)) else (outs,)
        seen.update((name, out.numpy()) for name, out in zip(graph.outputs, outs, strict=True))
        return seen

    return run


def opencv_backend(net: CaffeNet) -> Backend:
    """OpenCV's own Caffe importer on the original files: an independent oracle for net outputs.

    OpenCV fuses in-place layers, so only the network outputs are compared. Needs
    opencv-python-headless<5 (OpenCV 5 dropped the importer) and a .caffemodel weights file.
    OpenCV ignores include/exclude rules and cannot run data or loss layers, so for a train_val
    net it is given the TEST-phase net instead: Input layers of the given shapes, then the kept
    layers as the file defines them.
    """

    def run(graph: Graph, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            import cv2
        except ImportError:
            raise ConverterError("the opencv backend needs opencv-python-headless<5 installed") from None
        if not hasattr(cv2, "dnn") or not hasattr(cv2.dnn, "readNetFromCaffe"):
            raise ConverterError("this OpenCV has no Caffe importer (OpenCV 5 removed it)")
        prototxt, *weights = net.source_files
        if not weights or weights[0].suffix != ".caffemodel":
            raise ConverterError("the opencv backend reads .caffemodel weights only")
        blobs = [top for _, top in (graph.tensors[t].sources[-1] for t in graph.outputs)]
        try:
            with tempfile.TemporaryDirectory(prefix="squeeze-convert-") as folder:
                definition = prototxt
                if _drops_layers(prototxt, net):
                    definition = Path(folder) / "test_phase.prototxt"
                    definition.write_text(_test_phase_prototxt(net))
                cv_net = cv2.dnn.readNetFromCaffe(str(definition), str(weights[0]))
            for name, value in inputs.items():
                cv_net.setInput(value, name)
            values = cv_net.forward(blobs)
        except cv2.error as error:
            message = str(error).strip().splitlines()[-1]
            raise ConverterError(f"OpenCV's Caffe importer cannot run this net: {message}") from None
        return {tensor: np.asarray(value).reshape(graph.tensors[tensor].shape)
                for tensor, value in zip(graph.outputs, values, strict=True)}

    return run


def pycaffe_backend(net: CaffeNet) -> Backend:
    """BVLC Caffe itself through pycaffe, when it is importable: every blob's final value.

    Caffe overwrites in-place blobs, so each blob holds the value its last writer left there; in
    the IR that value carries the blob's own name. Needs `import caffe` and .caffemodel weights.
    """

    def run(graph: Graph, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import os

        os.environ.setdefault("GLOG_minloglevel", "2")
        try:
            import caffe
        except ImportError:
            raise ConverterError("the pycaffe backend needs BVLC Caffe's Python module (import caffe)") from None
        prototxt, *weights = net.source_files
        if not weights or weights[0].suffix != ".caffemodel":
            raise ConverterError("the pycaffe backend reads .caffemodel weights only")
        caffe.set_mode_cpu()
        try:
            caffe_net = caffe.Net(str(prototxt), str(weights[0]), caffe.TEST)
            for name, value in inputs.items():
                caffe_net.blobs[name].reshape(*value.shape)
                caffe_net.blobs[name].data[...] = value
            caffe_net.forward()
        except Exception as error:  # noqa: BLE001 - pycaffe raises plain exceptions for any failure
            raise ConverterError(f"pycaffe could not run {prototxt}: {error}") from None
        return {name: np.array(caffe_net.blobs[name].data, dtype=np.float32) for name in graph.tensors
                if name in caffe_net.blobs and name not in graph.inputs}

    return run


def _drops_layers(prototxt: Path, net: CaffeNet) -> bool:
    """Whether the file holds layers the TEST-phase net leaves out (data, loss, other phases)."""
    from converter.caffe.prototxt import parse_prototxt
    from converter.caffe.upgrade import upgrade_net

    kept = {layer.name for layer in net.layers}
    layers = upgrade_net(parse_prototxt(prototxt)).layer
    return any(layer.type != "Input" and layer.name not in kept for layer in layers)


def _test_phase_prototxt(net: CaffeNet) -> str:
    from google.protobuf import text_format

    from converter.caffe import caffe_pb2

    proto = caffe_pb2.NetParameter(name=net.name)
    for name, shape in net.inputs.items():
        proto.layer.add(name=f"input {name}", type="Input", top=[name]).input_param.shape.add(dim=list(shape))
    for layer in net.layers:
        kept = proto.layer.add()
        kept.CopyFrom(layer.param)
        del kept.include[:], kept.exclude[:]
    return text_format.MessageToString(proto)


@dataclass
class Conversion:
    net: CaffeNet
    graph: Graph
    onnx_export: OnnxModel | None = None
    torch_export: TorchExport | None = None
    report: Report | None = None
    written: list[Path] = field(default_factory=list)

    @property
    def onnx_model(self) -> onnx.ModelProto | None:
        """The emitted ONNX model as one in-memory ModelProto (weights copied in)."""
        return self.onnx_export.to_proto() if self.onnx_export is not None else None


def output_stem(prototxt: Path, net: CaffeNet) -> str:
    stem = prototxt.stem
    if stem.lower() in GENERIC_STEMS:
        stem = prototxt.resolve().parent.name or net.name or stem
    stem = re.sub(r"\W+", "_", stem).strip("_") or "model"
    return stem if not stem[0].isdigit() else f"model_{stem}"


def find_weights(prototxt: Path) -> Path | None:
    """The single .caffemodel beside the prototxt, if there is exactly one."""
    found = sorted(prototxt.resolve().parent.glob("*.caffemodel"))
    if len(found) > 1:
        raise ConverterError(f"several .caffemodel files beside {prototxt}: "
                             f"{', '.join(p.name for p in found)}; choose one with --weights")
    return found[0] if found else None


def run_verification(
    conversion: Conversion,
    *,
    backends: Sequence[str] = ("onnxruntime", "pytorch"),
    opset: int = 17,
    inputs: Mapping[str, np.ndarray] | None = None,
    expect: Path | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Report:
    net, graph = conversion.net, conversion.graph
    recorded_layers: dict[tuple[str, str], np.ndarray] = {}
    recorded_outputs: dict[str, np.ndarray] = {}
    if expect is not None:
        recorded_inputs, recorded_layers, recorded_outputs = load_recorded(expect)
        missing = [name for name in net.inputs if name not in recorded_inputs]
        if missing:
            raise ConverterError(f"{expect} records no input for {', '.join(missing)}")
        for name, shape in net.inputs.items():
            if tuple(recorded_inputs[name].shape) != tuple(shape):
                raise ConverterError(f"{expect} records input '{name}' of shape "
                                     f"{list(recorded_inputs[name].shape)}, the net takes {list(shape)}; "
                                     "pass the recorded shape with --input-shape")
        inputs = {name: recorded_inputs[name] for name in net.inputs}
    elif inputs is None:
        inputs = default_inputs(net)
    available = {"onnxruntime": lambda: onnx_backend(opset), "pytorch": torch_backend,
                 "opencv": lambda: opencv_backend(net), "pycaffe": lambda: pycaffe_backend(net)}
    chosen = {name: available[name]() for name in backends}
    report = verify(net, graph, chosen, dict(inputs), recorded_layers, recorded_outputs, tolerance,
                    model=graph.name)
    conversion.report = report
    return report


def check_outputs(outputs: Sequence[Path], inputs: Sequence[Path], force: bool) -> None:
    """Refuse to overwrite an input, or an existing output without force."""
    resolved_inputs = {p.resolve() for p in inputs}
    for path in outputs:
        if path.resolve() in resolved_inputs:
            raise OutputError(f"output {path} is one of the inputs; choose another --out-dir or name")
        if path.exists() and not force:
            raise OutputError(f"{path} exists; pass --force to replace it")
    if outputs and not outputs[0].parent.exists():
        try:
            outputs[0].parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputError(f"cannot create {outputs[0].parent}: {error.strerror or error}") from None


def convert(
    prototxt: str | Path,
    weights: str | Path | None = None,
    *,
    input_shapes: Mapping[str, Shape] | None = None,
    fuse: bool = True,
    fold_batchnorm: bool = False,
) -> Conversion:
    """Load a Caffe model and build its IR (nothing written). Emit and verify with the functions below."""
    net = load_net(prototxt, weights, input_shapes)
    return Conversion(net=net, graph=build_graph(net, fuse=fuse, fold_batchnorm=fold_batchnorm))


def emit(conversion: Conversion, *, formats: Sequence[str] = ("onnx", "pytorch"), opset: int = 17) -> None:
    if "onnx" in formats:
        from converter.emit.onnx import build_onnx

        conversion.onnx_export = build_onnx(conversion.graph, opset=opset)
    if "pytorch" in formats:
        from converter.emit.torch import emit_torch

        conversion.torch_export = emit_torch(conversion.graph)


def compact_onnx_for(conversion: Conversion) -> onnx.ModelProto:
    """The ONNX model in codebook form, for nets whose weights came from a Deep Compression file."""
    from converter.caffe.deep_compression import decode, looks_like_deep_compression
    from converter.emit.onnx.compact import compact_onnx

    weights = conversion.net.source_files[1:]
    if conversion.onnx_export is None or not weights or not looks_like_deep_compression(weights[0], conversion.net):
        raise ConverterError("--compact keeps the stored form of Deep Compression weights: it needs ONNX output "
                             "and a Deep Compression file (.net) as --weights")
    layers = {f"{q.name}.weight": q for q in decode(weights[0].read_bytes(), conversion.net, str(weights[0]))}
    dense = dict(conversion.onnx_export.weights)
    changed = [name for name, q in layers.items()
               if name not in dense or not np.array_equal(dense[name], q.weight(), equal_nan=True)]
    if changed:  # e.g. --fold-batchnorm rescaled a convolution: its stored form is not the model's weight
        raise ConverterError(f"--compact: conversion changed the stored weights of {', '.join(changed)} "
                             "(--fold-batchnorm?), so they cannot be kept in their stored form")
    return compact_onnx(conversion.onnx_export, layers)


def save(conversion: Conversion, out_dir: Path, stem: str, *, force: bool = False,
         report_json: dict[str, object] | None = None) -> list[Path]:
    """Write what was emitted as <stem>.onnx, <stem>.pth + <stem>.py, <stem>.report.json."""
    import json

    from converter.fileio import write_bytes_atomic

    planned: list[Path] = []
    if conversion.onnx_export is not None:
        planned.append(out_dir / f"{stem}.onnx")
    if conversion.torch_export is not None:
        planned += [out_dir / f"{stem}.pth", out_dir / f"{stem}.py"]
    if report_json is not None:
        planned.append(out_dir / f"{stem}.report.json")
    check_outputs(planned, conversion.net.source_files, force)
    written: list[Path] = []
    if conversion.onnx_export is not None:
        conversion.onnx_export.save(out_dir / f"{stem}.onnx")
        written.append(out_dir / f"{stem}.onnx")
    if conversion.torch_export is not None:
        from converter.emit.torch import save_torch

        save_torch(conversion.torch_export, out_dir / f"{stem}.pth", out_dir / f"{stem}.py")
        written += [out_dir / f"{stem}.pth", out_dir / f"{stem}.py"]
    if report_json is not None:
        write_bytes_atomic(out_dir / f"{stem}.report.json", json.dumps(report_json, indent=1).encode())
        written.append(out_dir / f"{stem}.report.json")
    conversion.written = written
    return written
