"""The runs verification compares with Caffe: the emitted models (ONNX Runtime, PyTorch) and the
optional outside oracles (OpenCV's Caffe importer, BVLC Caffe's own pycaffe).

Each backend runs a graph on inputs and returns values by IR tensor name, as many as it can
observe; `converter.verify` matches them to Caffe blobs. Heavy libraries load only when a backend
runs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from converter.caffe.net import CaffeNet
from converter.errors import ConverterError
from converter.ir import Graph
from converter.verify import Backend


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
    """

    def run(graph: Graph, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            import cv2
        except ImportError:
            raise ConverterError("the opencv backend needs OpenCV: pip install 'squeeze-convert[opencv]' "
                                 "(or 'opencv-python-headless<5')") from None
        if not hasattr(cv2, "dnn") or not hasattr(cv2.dnn, "readNetFromCaffe"):
            raise ConverterError("this OpenCV has no Caffe importer (OpenCV 5 removed it)")
        weights = _caffemodel(net, "opencv")
        blobs = [top for _, top in (graph.tensors[t].sources[-1] for t in graph.outputs)]
        try:
            with _test_phase_definition(net) as definition:
                cv_net = cv2.dnn.readNetFromCaffe(str(definition), str(weights))
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
def _test_phase_definition(net: CaffeNet) -> Iterator[Path]:
    """The net's prototxt, or, when the file holds layers the TEST-phase net leaves out (data, loss,
    other phases), a temporary deploy form of it: Input layers of the given shapes, then the kept
    layers as the file defines them. Outside importers then see the net we converted."""
    prototxt = net.source_files[0]
    if not _drops_layers(prototxt, net):
        yield prototxt
        return
    with tempfile.TemporaryDirectory(prefix="squeeze-convert-") as folder:
        definition = Path(folder) / "test_phase.prototxt"
        definition.write_text(_test_phase_prototxt(net))
        yield definition


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


BACKENDS: dict[str, Callable[[CaffeNet, int], Backend]] = {
    "onnxruntime": lambda net, opset: onnx_backend(opset),
    "pytorch": lambda net, opset: torch_backend(),
    "opencv": lambda net, opset: opencv_backend(net),
    "pycaffe": lambda net, opset: pycaffe_backend(net),
}
"""Backend name -> factory(net, opset)."""
