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
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from converter.caffe.net import CaffeNet
from converter.defaults import DEFAULT_OPSET
from converter.errors import ConverterError
from converter.ir import Graph
from converter.verify import Backend

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
        with contextlib.ExitStack() as stack:
            if model.weight_bytes < onnx_model.EXTERNAL_DATA_THRESHOLD:
                proto = model.to_proto()
                seen = _run_onnx(proto.SerializeToString(), inputs)
            else:
                # Past protobuf's 2 GiB limit the model exists only as files: run it from them, as saved.
                import onnx

                folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="squeeze-convert-")))
                model.save(folder / "model.onnx", external_threshold=0)
                seen = _run_onnx(str(folder / "model.onnx"), inputs)
                proto = onnx.load(folder / "model.onnx", load_external_data=False)
            hidden = [t for t in graph.tensors if t not in graph.inputs and t not in seen]
            if hidden:
                proto.graph.output.extend(helper.make_tensor_value_info(t, TensorProto.FLOAT, None) for t in hidden)
                if model.weight_bytes < onnx_model.EXTERNAL_DATA_THRESHOLD:
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
        module = load_module(exported)
        seen: dict[str, np.ndarray] = {}
        for path, tensors in exported.taps.items():
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
        weights = _caffemodel(net, "opencv")
        # A net input no kept layer reads (the label of a dropped loss layer) is an output no
        # layer produced: nothing of OpenCV's to compare there.
        produced = [t for t in graph.outputs if graph.tensors[t].sources]
        sources = [graph.tensors[t].sources[-1] for t in produced]
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
            message = str(error).strip().splitlines()[-1]
            raise ConverterError(f"OpenCV's Caffe importer cannot run this net: {message}") from None
        return {tensor: np.asarray(value).reshape(graph.tensors[tensor].shape)
                for tensor, value in zip(produced, values, strict=True)}

    return run


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
        if layer.type not in ("Convolution", "ConvolutionDepthwise"):
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


def pycaffe_backend(net: CaffeNet) -> Backend:
    """BVLC Caffe itself through pycaffe, when it is importable: every blob's final value.

    Caffe overwrites in-place blobs, so each blob holds the value its last writer left there; in
    the IR that value carries the blob's own name. Needs `import caffe` and .caffemodel weights.
    """

    def run(graph: Graph, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        os.environ.setdefault("GLOG_minloglevel", "2")
        try:
            import caffe
        except ImportError:
            raise ConverterError("the pycaffe backend needs BVLC Caffe's Python module (import caffe)") from None
        weights = _caffemodel(net, "pycaffe")
        caffe.set_mode_cpu()
        try:
            with _test_phase_definition(net) as definition:
                caffe_net = caffe.Net(str(definition), str(weights), caffe.TEST)
            for name, value in inputs.items():
                if name not in _read_inputs(net):  # left out of the definition
                    continue
                caffe_net.blobs[name].reshape(*value.shape)
                caffe_net.blobs[name].data[...] = value
            caffe_net.forward()
        except Exception as error:  # noqa: BLE001 - pycaffe raises plain exceptions for any failure
            raise ConverterError(f"pycaffe cannot run this net: {error}") from None
        return {name: np.array(caffe_net.blobs[name].data, dtype=np.float32) for name in graph.tensors
                if name in caffe_net.blobs and name not in graph.inputs}

    return run


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
    computes a * x + y, so OpenCV is handed each Axpy with x and y swapped (always a rewritten file
    then)."""
    prototxt = net.source_files[0]
    swap_axpy = for_opencv and any(layer.type == "Axpy" for layer in net.layers)
    if not swap_axpy and not _drops_layers(prototxt, net) and _read_inputs(net) == set(net.inputs):
        yield prototxt
        return
    with tempfile.TemporaryDirectory(prefix="squeeze-convert-") as folder:
        definition = Path(folder) / "test_phase.prototxt"
        definition.write_text(_test_phase_prototxt(net, swap_axpy))
        yield definition


def _drops_layers(prototxt: Path, net: CaffeNet) -> bool:
    """Whether the file holds layers the TEST-phase net leaves out (data, loss, other phases)."""
    from converter.caffe.prototxt import parse_prototxt
    from converter.caffe.upgrade import upgrade_net

    kept = {layer.name for layer in net.layers}
    layers = upgrade_net(parse_prototxt(prototxt)).layer
    return any(layer.type != "Input" and layer.name not in kept for layer in layers)


def _test_phase_prototxt(net: CaffeNet, swap_axpy: bool = False) -> str:
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
        if swap_axpy and layer.type == "Axpy" and len(kept.bottom) == 3:
            kept.bottom[1], kept.bottom[2] = kept.bottom[2], kept.bottom[1]
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
        model = "the emitted ONNX model (the one save writes)" if models.onnx is not None \
            else f"an ONNX model emitted for verification (opset {models.opset})"
        return (f"ONNX Runtime on {model}: network outputs from that model as is, intermediate blobs from "
                "the same model with every intermediate tensor added as a graph output")
    if name == "pytorch":
        module = "the emitted module and state_dict (the ones save writes)" if models.torch is not None \
            else "a module and state_dict emitted for verification"
        return f"PyTorch on {module}: network outputs as returned, intermediate blobs through forward hooks"
    if name == "opencv":
        return "OpenCV's own Caffe importer on the original files: network outputs only"
    if name == "pycaffe":
        return "BVLC Caffe (pycaffe) on the original files: every blob's final value"
    return name
