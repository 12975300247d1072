"""The runs verification compares with Caffe: the emitted models (ONNX Runtime, PyTorch) and the
optional outside oracles (OpenCV's Caffe importer, BVLC Caffe's own pycaffe).

The ONNX and PyTorch runs run the conversion's own exports, the very objects `pipeline.save`
writes, when they were emitted; only a verification without them (`squeeze-convert verify`)
emits its own.

Each backend runs a graph on inputs and returns values by IR tensor name, as many as it can
observe; `converter.verify` matches them to Caffe blobs. Heavy libraries load only when a backend
runs.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from converter.caffe.caffemodel import release_mapped_pages
from converter.caffe.net import CaffeNet
from converter.defaults import DEFAULT_OPSET
from converter.errors import ConverterError
from converter.ir import DetectionOutput, Graph
from converter.verify import Backend, Observed

if TYPE_CHECKING:

    from converter.emit.onnx import OnnxModel
    from converter.emit.torch import TorchExport


@dataclass(frozen=True)
class Models:
    """What the runs run: the net as loaded (the outside oracles read its files) and the
    conversion's own exports, when emitted; a run whose export is missing emits its own."""

    net: CaffeNet
    opset: int = DEFAULT_OPSET  # for an ONNX model emitted here; an export keeps its own
    onnx: OnnxModel | None = None
    torch: TorchExport | None = None
    files: Mapping[str, Path] = field(default_factory=dict)  # run -> the model file it was read from


IN_MEMORY_WEIGHTS = 64 << 20
"""Models with fewer bytes of weights run from memory; larger ones from files (see onnx_backend)."""


def onnx_backend(opset: int = DEFAULT_OPSET, export: OnnxModel | None = None) -> Backend:
    """ONNX Runtime on `export` (else on a model emitted here). The graph outputs come from a
    session on that model exactly as `save` writes it (same nodes, initializers and metadata); the
    intermediate tensors from a second session on the same model with every one of them added as
    a graph output (exposing a tensor can change which fusions ONNX Runtime applies, so the
    outputs are never taken from this one)."""

    def run(graph: Graph, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from onnx import TensorProto, helper

        from converter.emit.onnx import model as onnx_model

        if export is not None:
            model = export
        else:
            from converter.emit.onnx import build_onnx

            model = build_onnx(graph, opset=opset)
        in_memory = model.weight_bytes < min(onnx_model.EXTERNAL_DATA_THRESHOLD, IN_MEMORY_WEIGHTS)
        with contextlib.ExitStack() as stack:
            if in_memory:
                proto = model.to_proto()
                seen = _run_onnx(proto.SerializeToString(), inputs)
            else:
                # Big models run from files, weights as external data, streamed from the arrays: in memory
                # the ModelProto, its serialization and the session would each hold every weight at once
                # (past protobuf's 2 GiB limit there is no other way).
                import onnx

                folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="squeeze-convert-")))
                model.save(folder / "model.onnx", external_threshold=0)
                release_mapped_pages()  # the save read the mapped weights; ONNX Runtime reads the files
                seen = _run_onnx(str(folder / "model.onnx"), inputs)
                proto = onnx.load(folder / "model.onnx", load_external_data=False)
            # A model converted earlier and edited since may have lost some tensors: those are not compared.
            produced = {output for node in proto.graph.node for output in node.output}
            hidden = [t for t in graph.tensors if t not in graph.inputs and t not in seen and t in produced]
            if hidden:
                proto.graph.output.extend(helper.make_tensor_value_info(t, TensorProto.FLOAT, None) for t in hidden)
                if in_memory:
                    seen.update(_run_onnx(proto.SerializeToString(), inputs, hidden))
                else:
                    (folder / "with_intermediates.onnx").write_bytes(proto.SerializeToString())
                    seen.update(_run_onnx(str(folder / "with_intermediates.onnx"), inputs, hidden))
        return seen

    return run


def _run_onnx(model: bytes | str, inputs: dict[str, np.ndarray],
              names: list[str] | None = None) -> dict[str, np.ndarray]:
    """The values of `names` (default: every graph output) from an ONNX Runtime session on `model`
    (serialized, or the path of a model whose weights lie beside it)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    # A session that runs once gains nothing from repacking the weights first, which would hold a
    # second copy of them while it packs (VGG-16: 0.17 GB more at the peak, and slower).
    options.add_session_config_entry("session.disable_prepacking", "1")
    options.enable_cpu_mem_arena = False  # freed with the session, not kept for runs that never come
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    names = names if names is not None else [o.name for o in session.get_outputs()]
    feed = {i.name: inputs[i.name] for i in session.get_inputs()}
    return dict(zip(names, session.run(names, feed), strict=True))


def torch_backend(export: TorchExport | None = None) -> Backend:
    """PyTorch on `export`'s module and state_dict (else on ones emitted here); intermediate tensors
    through forward hooks on the instance run, which leave the export itself as it was."""

    def run(graph: Graph, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        from converter.emit.torch import emit_torch, load_module

        exported = export if export is not None else emit_torch(graph)
        try:
            module = load_module(exported, share_weights=True)  # only read: no second copy of the weights
        except Exception as error:  # noqa: BLE001 - a module converted earlier may have been edited
            if export is None:
                raise
            raise ConverterError(f"the PyTorch module does not load with its state_dict: "
                                 f"{type(error).__name__}: {str(error).strip().splitlines()[0]}") from None
        taps = {path: tensors for path, tensors in exported.taps.items() if _has_submodule(module, path)}
        seen: dict[str, np.ndarray] = {}
        for path, tensors in taps.items():
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


def _has_submodule(module: Any, path: str) -> bool:
    try:
        module.get_submodule(path)
    except AttributeError:
        return False
    return True


def opencv_backend(net: CaffeNet) -> Backend:
    """OpenCV's own Caffe importer on the original files: an independent oracle for net outputs.

    OpenCV fuses in-place layers, so only the network outputs are compared, and the input of a
    Softmax that makes one (`checked_by_outputs_only`). Needs
    opencv-python-headless<5 (OpenCV 5 dropped the importer) and a .caffemodel weights file.
    """

    def run(graph: Graph, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            import cv2
        except ImportError:
            raise ConverterError("the opencv backend needs OpenCV: pip install 'squeeze-convert[opencv]' "
                                 "(or 'opencv-python-headless<5')") from None
        if not hasattr(cv2, "dnn") or not hasattr(cv2.dnn, "readNetFromCaffe"):
            raise ConverterError("this OpenCV has no Caffe importer (OpenCV 5 removed it)")
        _refuse_batch_statistics(net)
        _refuse_thin_depthwise(net)
        _refuse_refinedet(net)
        weights = _caffemodel(net, "opencv")
        wanted = checked_by_outputs_only(graph)
        sources = [graph.tensors[t].sources[-1] for t in wanted]
        tops = {layer.name: layer.tops for layer in net.layers}
        try:
            with _test_phase_definition(net, for_opencv=True) as definition:
                cv_net = cv2.dnn.readNetFromCaffe(str(definition), str(weights))
            if hasattr(cv_net, "enableWinograd"):
                # OpenCV's Winograd 3x3 convolutions trade precision for speed (about 1e-3 relative
                # on a deep ResNet): an oracle should take the direct path.
                cv_net.enableWinograd(False)
            for name, value in inputs.items():
                if name in _read_inputs(net):
                    cv_net.setInput(value, name)
            # OpenCV finds outputs by layer name: a top named after a layer is that layer's output;
            # any other (a second top such as Pooling's mask) is taken from its layer's outputs.
            named = [top for _, top in sources if cv_net.getLayerId(top) >= 0]
            found = dict(zip(named, cv_net.forward(named), strict=True)) if named else {}
            others = list(dict.fromkeys(layer for layer, top in sources if top not in found))
            for layer, outputs in zip(others, cv_net.forwardAndRetrieve(others) if others else [], strict=True):
                found.update(zip(tops[layer], outputs, strict=False))
            values = [found[top] for _, top in sources]
        except cv2.error as error:
            raise ConverterError(f"OpenCV's Caffe importer cannot run this net: {_opencv_error_text(error)}") from None
        return {tensor: _as_caffe_rows(np.asarray(value), inputs) if isinstance(graph.producer(tensor), DetectionOutput)
                else np.asarray(value).reshape(graph.tensors[tensor].shape)
                for tensor, value in zip(wanted, values, strict=True)}

    return run


def _opencv_error_text(error: Exception) -> str:
    """OpenCV's error on one line: its first line without the build's path, then the lines of a failed
    CV_Check (each starting with '>'), which alone say little ("'2' is 2")."""
    first, *rest = str(error).strip().splitlines()
    text = " ".join([re.sub(r"^OpenCV\([^)]*\) \S+: error: \([^)]*\)\s*", "", first),
                     *(line.lstrip("> ").strip() for line in rest)])
    if "extractCustomParams" in text:
        text += (" (OpenCV reads a field its caffe.proto lacks, such as a fork layer's parameters, as a custom"
                 " layer's name/value pairs)")
    return text


def checked_by_outputs_only(graph: Graph) -> list[str]:
    """What a run that observes only what a net returns is asked for: the network outputs some
    layer computes (not an input left over as an output, such as a dropped loss layer's label) and,
    for an output a Softmax makes, that Softmax's input too: near one-hot probabilities agree
    whatever the logits were, so the probabilities alone would check next to nothing."""
    from converter.ir import Softmax

    wanted = [t for t in graph.outputs if t not in graph.inputs and graph.tensors[t].sources]
    for output in list(wanted):
        producer = graph.producer(output)
        if isinstance(producer, Softmax):
            logits = producer.inputs[0]
            if logits not in wanted and logits not in graph.inputs and graph.tensors[logits].sources:
                wanted.insert(wanted.index(output), logits)
    return wanted


def _as_caffe_rows(rows: np.ndarray, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """OpenCV's DetectionOutput rows as Caffe writes them: OpenCV pads its output with rows of zeros
    up to keep_top_k and orders rows by score; Caffe orders them by image, then label, then score
    descending, and with no detection gives one row [n, -1, ..., -1] per image."""
    rows = rows.reshape(-1, 7)
    rows = rows[(rows != 0).any(axis=1)]
    if not len(rows):
        batch = next(iter(inputs.values())).shape[0] if inputs else 1
        empty = np.full((batch, 7), -1, np.float32)
        empty[:, 0] = np.arange(batch)
        return empty.reshape(1, 1, batch, 7)
    order = np.lexsort((-rows[:, 2], rows[:, 1], rows[:, 0]))
    return rows[order].astype(np.float32).reshape(1, 1, -1, 7)


def _refuse_batch_statistics(net: CaffeNet) -> None:
    """OpenCV does not follow Caffe's BatchNorm with the batch's own statistics, so it cannot vouch
    for a net holding one: it refuses batches above one, ignores a layer's own `phase` (normalising
    with the stored statistics), and in place after a convolution uses the stored statistics too."""
    from converter.caffe.layers.batch_norm import uses_global_stats

    names = [layer.name for layer in net.layers if layer.type == "BatchNorm" and not uses_global_stats(layer)]
    if names:
        raise ConverterError(f"OpenCV's Caffe importer does not follow Caffe's BatchNorm with batch statistics "
                             f"(layer {', '.join(repr(n) for n in names)}), so it cannot check this net: "
                             "use the other backends")


def _refuse_thin_depthwise(net: CaffeNet) -> None:
    """OpenCV 4.14 computes a padded 3x3 depthwise convolution (one input channel per group) on a
    map one row or one column high wrongly, sometimes with garbage of 1e30 (ShuffleNet and MobileNet
    below a 64x64 input): a mismatch there would be OpenCV's, not the conversion's."""
    from converter.caffe.layers import convolution, convolution_depthwise

    names = []
    for layer in net.layers:
        if layer.type not in ("Convolution", "ConvolutionDepthwise", "DepthwiseConvolution"):
            continue
        module = convolution_depthwise if layer.type == "ConvolutionDepthwise" else convolution
        g = module.geometry(layer, layer.bottom_shapes)
        if (g.channels == g.group and g.kernel == (3, 3) and g.pad != (0, 0)
                and min(layer.bottom_shapes[0][2:]) == 1):
            names.append(layer.name)
    if names:
        raise ConverterError(f"OpenCV 4.14 computes a padded 3x3 depthwise convolution on a map one row or "
                             f"column high wrongly (layer {', '.join(repr(n) for n in names)}), so it cannot "
                             "check this net at this input size: use a larger --input-shape or the other backends")


def _refuse_refinedet(net: CaffeNet) -> None:
    """OpenCV 4.14 reads RefineDet's DetectionOutput (arm_conf, arm_loc bottoms) but computes the SSD
    fork's from its first three bottoms: neither the objectness filter nor the refined anchors."""
    from converter.caffe.layers import detection_output

    names = [layer.name for layer in net.layers if layer.type == "DetectionOutput" and detection_output.arm_bottoms(
        layer, layer.bottom_shapes, detection_output.num_priors(layer, layer.bottom_shapes))]
    if names:
        raise ConverterError(f"OpenCV 4.14 ignores RefineDet's arm_conf and arm_loc bottoms of DetectionOutput "
                             f"(layer {', '.join(repr(n) for n in names)}), so it cannot check this net: use the "
                             "other backends")


def pycaffe_backend(net: CaffeNet) -> Backend:
    """BVLC Caffe itself through pycaffe, when it is importable, in a child process
    (`converter/pycaffe_child.py`): every Caffe blob right after its layer ran, Fire internals and
    in-place layers' inputs included, the same blobs `--expect` records.

    A failed CHECK in Caffe aborts only the child; it is reported as Caffe's refusal of the net
    (while loading it: bad input, exit 2) or as a disagreement (while running it: exit 1), with
    Caffe's own last words. Needs `import caffe` in this Python (the child runs sys.executable) and
    .caffemodel weights.
    """

    def run(graph: Graph, inputs: dict[str, np.ndarray]) -> Observed:
        import json
        import subprocess

        weights = _caffemodel(net, "pycaffe")
        ours = {(layer.name, top) for layer in net.layers for top in layer.tops}
        with tempfile.TemporaryDirectory(prefix="squeeze-convert-pycaffe-") as folder, \
                _test_phase_definition(net) as definition:
            work = Path(folder)
            np.savez(work / "inputs.npz", **inputs)
            (work / "blobs").mkdir()
            child = Path(__file__).with_name("pycaffe_child.py")
            env = {"GLOG_minloglevel": "2", **os.environ}  # Caffe logs only errors, unless asked otherwise
            done = subprocess.run([sys.executable, str(child), str(Path(definition).resolve()),
                                   str(weights.resolve()), str(work / "inputs.npz"), str(work / "blobs")],
                                  cwd=work, env=env, capture_output=True, text=True, errors="replace")
            stages = [line.removeprefix("stage: ") for line in done.stdout.splitlines() if line.startswith("stage: ")]
            stage = stages[-1] if stages else "start"
            if done.returncode != 0 or stage != "done":
                raise _pycaffe_error(done.returncode, stage, done.stderr)
            listing = json.loads((work / "blobs" / "blobs.json").read_text())
            return {(layer, top): np.load(work / "blobs" / file) for layer, top, file in listing
                    if (layer, top) in ours}

    return run


def _pycaffe_error(returncode: int, stage: str, stderr: str) -> ConverterError:
    from converter.errors import VerificationError

    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    if returncode == 10 or stage in ("start", "import"):
        cause = lines[-1] if lines else f"exit status {returncode}"
        return ConverterError(f"the pycaffe backend cannot import BVLC Caffe's Python module (import caffe in "
                              f"{sys.executable}): {cause}")
    if returncode < 0:
        try:
            died = f"aborted by {signal.Signals(-returncode).name}"
        except ValueError:
            died = f"killed by signal {-returncode}"
    else:
        died = f"raised an error (exit status {returncode})"
    # Caffe's CHECK failures are logged as "F<date> ... file.cpp:line] Check failed: ..."
    checks = [line for line in lines if line.startswith("F") and "] " in line]
    said = (checks or lines or ["no message"])[-1]
    if stage == "load":
        return ConverterError(f"Caffe (pycaffe) refuses this net: it {died} while loading it: {said}")
    return VerificationError(f"Caffe (pycaffe) {died} while running the net, which the converter runs: {said}")


def _caffemodel(net: CaffeNet, backend: str) -> Path:
    weights = net.source_files[1:]
    if not weights or weights[0].suffix != ".caffemodel":
        raise ConverterError(f"the {backend} backend reads .caffemodel weights only")
    return weights[0]


@contextlib.contextmanager
def _test_phase_definition(net: CaffeNet, for_opencv: bool = False) -> Iterator[Path]:
    """The net's prototxt, or, when the file holds layers the TEST-phase net leaves out (data, loss,
    other phases) or inputs no kept layer reads, a temporary deploy form of it: Input layers of the
    read inputs, then the kept layers as the file defines them. Outside importers then see the net
    we converted.

    `for_opencv`: OpenCV 4.14's importer builds Axpy (a, x, y) as a * y + x, where SENet's layer
    computes a * x + y, so OpenCV is handed each Axpy with x and y swapped; and it knows no
    `DepthwiseConvolution`, which is Convolution under another name, so it gets those as
    Convolution; HED's Crops get the offsets HED's Caffe computes (always a rewritten file then)."""
    prototxt = net.source_files[0]
    # HED's Crop offsets were written into the layers' crop_param (converter.caffe.fork_semantics).
    rewrite = for_opencv and any(layer.type in ("Axpy", *OPENCV_TYPE_NAMES) or layer.type == "Crop" and layer.fork
                                 for layer in net.layers)
    if not rewrite and not _drops_layers(prototxt, net) and _read_inputs(net) == set(net.inputs):
        yield prototxt
        return
    with tempfile.TemporaryDirectory(prefix="squeeze-convert-") as folder:
        definition = Path(folder) / "test_phase.prototxt"
        definition.write_text(_test_phase_prototxt(net, for_opencv))
        yield definition


def _drops_layers(prototxt: Path, net: CaffeNet) -> bool:
    """Whether the file holds layers the TEST-phase net leaves out (data, loss, other phases)."""
    from converter.caffe.prototxt import parse_prototxt
    from converter.caffe.upgrade import upgrade_net

    kept = {layer.name for layer in net.layers}
    layers = upgrade_net(parse_prototxt(prototxt)).layer
    return any(layer.type != "Input" and layer.name not in kept for layer in layers)


# Fork layer types OpenCV's importer lacks, given to it under the name of the layer they equal.
OPENCV_TYPE_NAMES = {"DepthwiseConvolution": "Convolution"}


def _test_phase_prototxt(net: CaffeNet, for_opencv: bool = False) -> str:
    from google.protobuf import text_format

    from converter.caffe import caffe_pb2

    proto = caffe_pb2.NetParameter(name=net.name)
    read = _read_inputs(net)
    for name, shape in net.inputs.items():
        if name not in read:  # OpenCV refuses a net input that nothing reads
            continue
        proto.layer.add(name=f"input {name}", type="Input", top=[name]).input_param.shape.add(dim=list(shape))
    for layer in net.layers:
        kept = proto.layer.add()
        kept.CopyFrom(layer.param)
        if for_opencv and layer.type == "Axpy" and len(kept.bottom) == 3:
            kept.bottom[1], kept.bottom[2] = kept.bottom[2], kept.bottom[1]
        if for_opencv and layer.type in OPENCV_TYPE_NAMES:
            kept.type = OPENCV_TYPE_NAMES[layer.type]
        del kept.include[:], kept.exclude[:]
    return text_format.MessageToString(proto)


def _read_inputs(net: CaffeNet) -> set[str]:
    """The net inputs some kept layer reads (a dropped loss layer's label is read by none)."""
    return {bottom for layer in net.layers for bottom in layer.bottoms if bottom in net.inputs}


BACKENDS: dict[str, Callable[[Models], Backend]] = {
    "onnxruntime": lambda models: onnx_backend(models.opset, models.onnx),
    "pytorch": lambda models: torch_backend(models.torch),
    "opencv": lambda models: opencv_backend(models.net),
    "pycaffe": lambda models: pycaffe_backend(models.net),
}
"""Backend name -> factory(models)."""


def describe(name: str, models: Models) -> str:
    """What the run `name` ran, for the report."""
    if name == "onnxruntime":
        model = f"{models.files[name]} as given" if name in models.files \
            else "the emitted ONNX model (the one save writes)" if models.onnx is not None \
            else f"an ONNX model emitted for verification (opset {models.opset})"
        return (f"ONNX Runtime on {model}: network outputs from that model as is, intermediate blobs from "
                "the same model with every intermediate tensor added as a graph output")
    if name == "pytorch":
        module = f"{models.files[name]} and the state_dict beside it, as given" if name in models.files \
            else "the emitted module and state_dict (the ones save writes)" if models.torch is not None \
            else "a module and state_dict emitted for verification"
        return f"PyTorch on {module}: network outputs as returned, intermediate blobs through forward hooks"
    if name == "opencv":
        return ("OpenCV's own Caffe importer on the original files: network outputs, and the input of a "
                "Softmax that makes one")
    if name == "pycaffe":
        return ("BVLC Caffe (pycaffe, in a child process) on the original files: every blob right after its "
                "layer ran, as --expect records them")
    return name
