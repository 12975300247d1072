"""The library entry points: load, build the IR, emit, verify. The CLI is a thin layer over these.

Heavy libraries (onnx, onnxruntime, torch) are imported only by the steps that need them.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
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
from converter.preprocessing import Preprocessing
from converter.verify import Report, default_inputs, load_recorded_for, package_versions, verify

if TYPE_CHECKING:
    import onnx

    from converter.emit.onnx import OnnxModel
    from converter.emit.torch import TorchExport
    from converter.reduced import ReducedCheck
    from converter.verify import Comparison

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
    # What the image input must go through before the net (None: the net has no single image input).
    preprocessing: Preprocessing | None = None
    # With a bake (emit's `bake`): the graph taking raw images, its exports (written instead of the
    # plain ones, which verification compares with Caffe) and its preprocessing.
    baked_graph: Graph | None = None
    baked_onnx: OnnxModel | None = None
    baked_torch: TorchExport | None = None
    baked_preprocessing: Preprocessing | None = None
    # The fork schema the prototxt was read with (--caffe-proto), to read it again.
    caffe_proto: Path | None = None
    # How the graph was built (fuse, fold_batchnorm), to build it again at another input size.
    build_options: dict[str, bool] = field(default_factory=dict)
    # The fp16/int8 variants' checks against the float32 model (converter.reduced), for the report.
    reduced_checks: list[ReducedCheck] = field(default_factory=list)
    # With --dynamic-hw: the net and graph at a second input size, verified there too.
    other_size: tuple[CaffeNet, Graph] | None = None
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
    def saved_onnx(self) -> OnnxModel | None:
        """The ONNX export `save` writes: the baked one when there is one."""
        return self.baked_onnx or self.onnx_export

    @property
    def saved_torch(self) -> TorchExport | None:
        return self.baked_torch or self.torch_export

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


def model_name(stem: str) -> str:
    """A file stem as a CamelCase name: deepscale_squeezenet_v1.1 -> DeepscaleSqueezenetV1_1."""
    parts = [part for part in re.split(r"[^0-9A-Za-z]+", stem) if part]
    name = ""
    for part in parts:
        joint = "_" if name[-1:].isdigit() and part[0].isdigit() else ""
        name += joint + part[0].upper() + part[1:]
    return name


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
    report.notes += [f"Caffe: {note}" for note in net.notes]
    if conversion.torch_export is not None:
        report.notes += [f"PyTorch: {note}" for note in conversion.torch_export.notes]
    if conversion.baked_graph is not None:
        report.comparisons.extend(compare_baked(conversion, tolerance))
    if conversion.other_size is not None:
        report.comparisons.extend(verify_at_other_size(conversion, tolerance))
    conversion.report = report
    return report


def compare_baked(conversion: Conversion, tolerance: float, seed: int = 7) -> list[Comparison]:
    """The baked exports on a raw random image against the plain ones on the same image
    preprocessed as the net's record says (computed here from the two records, independently of
    the bake's algebra): one comparison per output and export."""
    from converter.backends import onnx_backend, torch_backend
    from converter.verify import Comparison, compare

    assert conversion.baked_graph is not None and conversion.baked_preprocessing is not None
    assert conversion.preprocessing is not None
    image = conversion.graph.inputs[0]
    shape = conversion.graph.tensors[image].shape
    rgb01 = np.random.default_rng(seed).uniform(0.0, 1.0, shape)

    def as_fed(record: Preprocessing) -> np.ndarray:
        pixels = rgb01 if record.channel_order == "rgb" else rgb01[:, ::-1]
        return record.apply(pixels * record.pixel_max)

    runs = [("onnxruntime", onnx_backend, conversion.onnx_export, conversion.baked_onnx),
            ("pytorch", torch_backend, conversion.torch_export, conversion.baked_torch)]
    comparisons = []
    for name, backend, plain, baked_export in runs:
        if plain is None or baked_export is None:
            continue
        expected = backend(export=plain)(conversion.graph, {image: as_fed(conversion.preprocessing)})
        actual = backend(export=baked_export)(conversion.baked_graph, {image: as_fed(conversion.baked_preprocessing)})
        for output in conversion.graph.outputs:
            max_abs, rel, ok = compare(actual[output], expected[output], tolerance)
            comparisons.append(Comparison(blob=f"output|{output}", backend=f"{name} (baked "
                                          f"{conversion.baked_preprocessing.baked}, raw image)", tensor=output,
                                          shape=list(expected[output].shape), max_abs_err=max_abs, rel_err=rel,
                                          ok=ok, truth="unbaked model on the preprocessed image"))
    return comparisons


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
    preprocessing: Mapping[str, object] | None = None,
    caffe_proto: str | Path | None = None,
    caffe_fork: str | None = None,
) -> Conversion:
    """Load a Caffe model and build its IR (nothing written). Emit and verify with the functions below.

    `caffe_proto` is a fork's own caffe.proto to read the prototxt with (compiled at run time; fields
    the converter does not know are refused, naming layer, field and file:line). `caffe_fork` is the
    Caffe build the net was written for where builds read a prototxt differently ("bvlc", or
    "yolov3": the YOLOv3 ports' Pooling); None decides by the net's shapes (`net.notes` says how).

    The source files' sha256 (for the metadata) is computed in the background from here on (or
    from earlier: `digests` already started, by path), and waited for only when the metadata is
    written: last, after a streamed ONNX file's weights.
    """
    sources = [Path(prototxt), *([Path(weights)] if weights is not None else [])]
    digests = {path: (digests or {}).get(path) or FileDigest(path) for path in sources}
    net = load_net(prototxt, weights, input_shapes, caffe_proto, caffe_fork)
    if weights is None and (needing := layers_with_parameters(net)):
        shown = ", ".join(needing[:4]) + (f" and {len(needing) - 4} more" if len(needing) > 4 else "")
        raise WeightsError(f"no weights given, and {len(needing)} layers hold parameters ({shown}): "
                           "pass a .caffemodel (--weights, or the only one beside the prototxt; demo weights: "
                           "`squeeze-convert make-weights`)")
    conversion = Conversion(net=net, graph=build_graph(net, fuse=fuse, fold_batchnorm=fold_batchnorm, digests=digests),
                            build_options={"fuse": fuse, "fold_batchnorm": fold_batchnorm})
    if not net.name:  # the generated class and the ONNX graph are named after the files instead
        conversion.graph.name = model_name(output_stem(prototxt, net))
    conversion.caffe_proto = Path(caffe_proto) if caffe_proto is not None else None
    conversion.preprocessing = preprocessing_for(Path(prototxt), net, preprocessing or {}, conversion.caffe_proto)
    return conversion


def image_input(net: CaffeNet) -> str | None:
    """The net's one N x C x H x W input, if it has exactly one input and it is 4-D."""
    if len(net.inputs) != 1:
        return None
    (name, shape), = net.inputs.items()
    return name if len(shape) == 4 else None


def preprocessing_for(prototxt: Path, net: CaffeNet, options: Mapping[str, object],
                      caffe_proto: Path | None = None) -> Preprocessing | None:
    """The data layers' transform_param overridden by `options` (keyword arguments of
    `converter.preprocessing.resolved`, with mean_file a path, read here); None for a net without
    a single image input. A per-pixel mean is center-cropped to the input, as Caffe crops at TEST."""
    from converter.caffe.transform import read_mean_file, read_transform
    from converter.preprocessing import resolved

    name = image_input(net)
    if name is None:
        if options:
            raise ConverterError("preprocessing options need a net with one N,C,H,W image input; its inputs: "
                                 + ", ".join(f"'{n}' {list(s)}" for n, s in net.inputs.items()))
        return None
    shape = net.inputs[name]
    options = dict(options)
    mean_file = options.pop("mean_file", None)
    if mean_file is not None:
        if options.get("mean") is not None:
            raise ConverterError("give --mean or --mean-file, not both")
        image = read_mean_file(Path(str(mean_file)))
        if image.shape[1:] == (1, 1):  # one value per channel
            options["mean"] = tuple(float(v) for v in image.reshape(-1))
        else:
            options["mean_image"] = image
        options["mean_file"] = Path(str(mean_file)).name
    result = resolved(read_transform(prototxt, caffe_proto), **options)  # type: ignore[arg-type]
    result.channel_means(shape[1]), result.channel_scales(shape[1])  # refuses counts that do not fit
    if result.mean_image is not None:
        result = replace(result, mean_image=_fit_mean(result.mean_image, shape, result.mean_file or "mean"))
    return result


def _fit_mean(image: np.ndarray, shape: Shape, what: str) -> np.ndarray:
    """A mean image for an input of `shape`: Caffe's center crop when larger, refused otherwise."""
    from converter.caffe.transform import center_crop

    if image.shape[0] != shape[1]:
        raise ConverterError(f"{what}: a mean of {image.shape[0]} channels for an input of {shape[1]}")
    if image.shape[1:] == tuple(shape[2:]):
        return image
    if shape[2] != shape[3]:
        raise ConverterError(f"{what}: mean image {image.shape[1]}x{image.shape[2]} does not fit the input "
                             f"{shape[2]}x{shape[3]}")
    return center_crop(image, shape[2], what)


def emit(conversion: Conversion, *, formats: Sequence[str] = ("onnx", "pytorch"), opset: int = DEFAULT_OPSET,
         bake: str | None = None, batch: int | None = None, dynamic_hw: bool = False) -> None:
    """Build the exports `formats` name: "onnx", "pytorch" (the module, weights as <stem>.pth),
    "safetensors" (the module, weights as <stem>.safetensors); with `bake` (rgb01, rgb255, bgr255,
    torchvision-normalize) also the ones taking raw images (`conversion.baked_*`), which `save`
    writes instead of the plain ones."""
    check_opset(opset)
    known = {"onnx", *WEIGHTS_SUFFIXES}
    unknown = sorted({str(f) for f in formats} - known) if not isinstance(formats, str) else [formats]
    if unknown or not formats:
        raise ConverterError(f"formats must be some of 'onnx', 'pytorch', 'safetensors'; got {formats!r}")
    weights_formats = tuple(f for f in WEIGHTS_SUFFIXES if f in formats)

    def exports(graph: Graph, preprocessing: Preprocessing | None) -> tuple[OnnxModel | None, TorchExport | None]:
        onnx_export = torch_export = None
        if "onnx" in formats:
            from converter.emit.onnx import build_onnx

            onnx_export = build_onnx(graph, opset=opset, batch=batch, dynamic_hw=dynamic_hw)
            if preprocessing is not None:
                onnx_export.metadata.update(preprocessing.metadata())
                if preprocessing.baked:
                    onnx_export.skeleton = _denoted_image(onnx_export.skeleton_bytes(), graph.inputs[0])
            if batch is not None:
                onnx_export.metadata.update({k: v.replace("float32 N", f"float32 {batch}", 1)
                                             for k, v in onnx_export.metadata.items()
                                             if k.startswith("input.") and isinstance(v, str)})
        if weights_formats:
            from converter.emit.torch import emit_torch

            torch_export = emit_torch(graph, preprocessing.to_dict() if preprocessing is not None else None)
        return onnx_export, torch_export

    if dynamic_hw:
        conversion.other_size = at_another_size(conversion)
    conversion.onnx_export, conversion.torch_export = exports(conversion.graph, conversion.preprocessing)
    if weights_formats:
        conversion.weights_formats = weights_formats
    if bake:
        conversion.baked_graph, conversion.baked_preprocessing = baked(conversion, bake)
        conversion.baked_onnx, conversion.baked_torch = exports(conversion.baked_graph, conversion.baked_preprocessing)


def at_another_size(conversion: Conversion) -> tuple[CaffeNet, Graph]:
    """The net loaded again with each 4-D input's height and width changed (by +7 and +13: odd, so
    rounding in strided layers is exercised), for --dynamic-hw: a net whose layers fix the size
    (InnerProduct weights, Reshape dims...) is refused with the loader's own error, naming the layer."""
    net = conversion.net
    images = [name for name, shape in net.inputs.items() if len(shape) == 4]
    if not images:
        raise ConverterError("--dynamic-hw needs an N,C,H,W input; inputs: "
                             + ", ".join(f"'{n}' {list(s)}" for n, s in net.inputs.items()))
    shapes = {name: (*shape[:2], shape[2] + 7, shape[3] + 13) if name in images else shape
              for name, shape in net.inputs.items()}
    prototxt, *weights = net.source_files
    try:
        other = load_net(prototxt, weights[0] if weights else None, shapes, conversion.caffe_proto, net.caffe_fork)
    except ConverterError as error:
        size = "x".join(map(str, shapes[images[0]][2:]))
        raise ConverterError(f"--dynamic-hw: the net fixes its input's height and width (at {size}: {error})") from None
    # The files were hashed once already: the same digests, not a second hashing.
    digests = {path: conversion.graph.metadata[f"source.{i}.sha256"] for i, path in enumerate(other.source_files)}
    other_graph = build_graph(other, digests=digests, **conversion.build_options)  # type: ignore[arg-type]
    _refuse_size_constants(conversion.net, conversion.graph, other_graph, other)
    return other, other_graph


def _refuse_size_constants(net: CaffeNet, graph: Graph, other_graph: Graph, other_net: CaffeNet) -> None:
    """A node holding a value computed from the input size holds at the converted size only: an
    ONNX model with a symbolic H and W would carry that size's value. Such values are PriorBox's
    default boxes (a Constant, from the feature map's and the image's height and width) and a
    Reshape's target written out for the converted size. Nets with them are refused, naming each
    layer with its line in the prototxt, and the DetectionOutput layers reading the boxes."""
    from converter.caffe.prototxt import layer_position, prototxt_source
    from converter.ir import Constant, Reshape

    others = {node.name: node for node in other_graph.nodes}
    size, other_size = _image_size(net), _image_size(other_net)
    fixed: list[tuple[str, str]] = []
    for node in graph.nodes:
        other = others.get(node.name)
        if isinstance(node, Constant) and isinstance(other, Constant) and (
                node.value.shape != other.value.shape or not np.array_equal(node.value, other.value)):
            fixed.append((node.name, ""))
        elif isinstance(node, Reshape) and isinstance(other, Reshape) and tuple(node.shape) != tuple(other.shape):
            fixed.append((node.name, f"target {list(node.shape)} ({list(other.shape)} at {other_size})"))
    if not fixed:
        return
    prototxt = net.source_files[0]
    text = prototxt_source(prototxt)
    types = {layer.name: layer.type for layer in net.layers}

    def where(name: str, what: str) -> str:
        found = layer_position(text, name)
        line = f", line {found[0]}" if found else ""
        return f"'{name}' ({types.get(name, 'layer')}{line}{': ' + what if what else ''})"

    readers = [layer.name for layer in net.layers if layer.type == "DetectionOutput"]
    shown = "; ".join(where(*item) for item in fixed[:8]) + (f"; and {len(fixed) - 8} more" if len(fixed) > 8 else "")
    raise ConverterError(
        f"--dynamic-hw: {prototxt}: layer {shown} hold values computed for the {size} input when the net is "
        "converted (PriorBox: the default boxes of each feature map cell, normalised by the image size; Reshape: "
        "its target shape), so a model with a symbolic height and width would keep them at every size"
        + (f", and {', '.join(repr(r) for r in readers)} would decode other sizes' boxes against them"
           if readers and any(types.get(name) == "PriorBox" for name, _ in fixed) else "")
        + "; convert at each input size instead (--input-shape)")


def _image_size(net: CaffeNet) -> str:
    """The height and width of the net's first N x C x H x W input, as "HxW"."""
    return "x".join(map(str, next(shape for shape in net.inputs.values() if len(shape) == 4)[2:]))


def verify_at_other_size(conversion: Conversion, tolerance: float) -> list[Comparison]:
    """The dynamic ONNX export run at the second size, every blob against the reference executor
    there."""
    from converter.backends import onnx_backend

    assert conversion.other_size is not None and conversion.onnx_export is not None
    net, graph = conversion.other_size
    size = _image_size(net)
    report = verify(net, graph, {f"onnxruntime (at {size})": onnx_backend(export=conversion.onnx_export)},
                    default_inputs(net, seed=3), tolerance=tolerance)
    return [c for c in report.comparisons if c.backend != "reference"]


def baked(conversion: Conversion, target_name: str) -> tuple[Graph, Preprocessing]:
    """The graph taking images as `target_name` says, and its preprocessing record."""
    from converter.passes.preprocessing import bake
    from converter.preprocessing import affine_between, bake_target

    image = image_input(conversion.net)
    if image is None or conversion.preprocessing is None:
        raise ConverterError(f"--bake-preprocessing / --torchvision-normalize need a net with one N,C,H,W image "
                             f"input; its inputs: {', '.join(conversion.net.inputs)}")
    target = bake_target(target_name)
    channels = conversion.graph.tensors[image].shape[1]
    graph, how = bake(conversion.graph, image, affine_between(conversion.preprocessing, target, channels))
    record = replace(target, baked=target_name, baked_how=how,
                     sources={"all": f"baked: the net's own preprocessing ({_mean_text(conversion.preprocessing)}) "
                                     f"is done inside the model, {how}"})
    return graph, record


def describe_preprocessing(conversion: Conversion) -> str:
    """One line: what the net was fed, and what the written models take."""
    assert conversion.preprocessing is not None
    text = _mean_text(conversion.preprocessing)
    if conversion.baked_preprocessing is not None:
        text += (f"; written models take {_mean_text(conversion.baked_preprocessing)} "
                 f"({conversion.baked_preprocessing.baked}: {conversion.baked_preprocessing.baked_how})")
    return text


def _mean_text(preprocessing: Preprocessing) -> str:
    mean = preprocessing.to_dict()["mean"]
    return (f"{preprocessing.channel_order.upper()} {preprocessing.input_range}, mean "
            f"{mean if mean is not None else preprocessing.mean_file}, scale {list(preprocessing.scale)}")


def _denoted_image(skeleton: bytes, name: str) -> onnx.ModelProto:
    """The model with ONNX type denotation on input `name`: an IMAGE (N, C, H, W), the tensor the
    metadata's Image.* keys describe (onnx/docs/TypeDenotation.md, DimensionDenotation.md)."""
    import onnx

    model = onnx.ModelProto.FromString(skeleton)
    for value in model.graph.input:
        if value.name == name:
            value.type.denotation = "IMAGE"
            for dim, denotation in zip(value.type.tensor_type.shape.dim,
                                       ("DATA_BATCH", "DATA_CHANNEL", "DATA_FEATURE", "DATA_FEATURE"), strict=False):
                dim.denotation = denotation
    return model


def reduced_models(conversion: Conversion, kinds: Sequence[str], images: Path | None,
                   tolerances: Mapping[str, float]) -> dict[str, onnx.ModelProto]:
    """The fp16/int8 variants of the ONNX model `save` writes, each checked against it on `images`
    (fed as the model's metadata says; without images, 4 random images of uniform pixels) into
    `conversion.reduced_checks`. int8 calibrates on the images and needs them."""
    from converter import demo, reduced
    from converter.preprocessing import from_metadata

    export = conversion.saved_onnx
    if export is None:
        raise ConverterError("--fp16 / --int8 make variants of the ONNX model: keep --format onnx")
    if "int8" in kinds and images is None:
        raise ConverterError("--int8 calibrates on images: give --calibration-images DIR")
    model = export.to_proto()
    name = image_input(conversion.net)
    if name is None:
        raise ConverterError("--fp16 / --int8 need a net with one N,C,H,W image input")
    shape = conversion.graph.tensors[name].shape
    fed_as = from_metadata({p.key: p.value for p in model.metadata_props})
    if images is not None:
        feeds = [{name: np.repeat(demo.load_image_as(path, shape[2:], fed_as), shape[0], axis=0)}
                 for path in reduced.calibration_images(images)]
    else:
        rng = np.random.default_rng(11)
        feeds = [{name: fed_as.apply(rng.uniform(0, fed_as.pixel_max, shape))} for _ in range(4)]
    variants = {}
    for kind in kinds:
        variant = reduced.fp16_model(model) if kind == "fp16" else reduced.int8_model(model, feeds)
        conversion.reduced_checks.append(reduced.check_reduced(kind, variant, model, feeds, tolerances[kind]))
        variants[kind] = variant
    return variants


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
    if conversion.saved_onnx is not None:
        planned.append(out_dir / f"{stem}.onnx")
        # Read where OnnxModel.save reads it, so both always agree on the external data file.
        if conversion.saved_onnx.weight_bytes >= onnx_model.EXTERNAL_DATA_THRESHOLD:
            planned.append(out_dir / f"{stem}.onnx.data")
    if conversion.saved_torch is not None:
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
        if conversion.saved_onnx is not None:
            conversion.saved_onnx.save(out_dir / f"{stem}.onnx")
        if conversion.saved_torch is not None:
            from converter.emit.torch import save_torch

            weights = {f: out_dir / f"{stem}{WEIGHTS_SUFFIXES[f]}" for f in conversion.weights_formats}
            save_torch(conversion.saved_torch, weights.get("pytorch"), out_dir / f"{stem}.py",
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
    if conversion.preprocessing is not None:
        document["preprocessing"] = conversion.preprocessing.to_dict()
    if conversion.baked_preprocessing is not None:
        document["preprocessing_of_written_models"] = conversion.baked_preprocessing.to_dict()
    if conversion.reduced_checks:
        document["reduced"] = [check.to_json() for check in conversion.reduced_checks]
    # What was checked, so that a report is never mistaken for one about other files beside it.
    digests = {path: conversion.graph.metadata.get(f"source.{i}.sha256")
               for i, path in enumerate(conversion.net.source_files)}
    document["sources"] = [{"path": str(path), "sha256": str(digests.get(path) or FileDigest(path))}
                           for path in conversion.input_files]
    return document


def _json_bytes(document: Mapping[str, object]) -> bytes:
    from converter.fileio import json_text

    return (json_text(document) + "\n").encode()
