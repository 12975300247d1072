"""The emitted ONNX graphs are already as lean as a graph optimiser makes them: onnxslim (an
independent simplifier: constant folding, Conv+BatchNorm and other fusions, dead and identity node
removal) finds nothing to remove in any reference model, while on an unfolded graph (--no-fold) it
does find the BatchNorm/Scale work, so the check has teeth."""

from __future__ import annotations

import onnxslim
import pytest

from conftest import golden_case, shared_path
from converter.caffe.loader import load_net
from converter.caffe.synthetic import synthetic_blobs
from converter.caffe.weights import attach_weights
from converter.caffe.wire import RawBlob, RawLayer
from converter.emit.onnx import build_onnx
from converter.pipeline import build_graph

GOLDEN = ["squeezenet_v1.0", "squeezenet_v1.1", "mobilenet_v1", "mobilenet_v2", "layer_zoo"]
# Reference nets without recorded weights: demo weights made in memory, at a small input where the
# net allows one (the structure, which is what is checked, does not depend on it). AlexNet and
# CaffeNet (layers GoogLeNet has too, but 61M parameters whatever the input) are left out for time.
DEFINITIONS = {
    "bvlc_googlenet": ("reference_models/bvlc/bvlc_googlenet/deploy.prototxt", None),
    "squeezenet_residual": ("reference_models/squeezenet_residual/trainval.prototxt", {"data": (1, 3, 227, 227)}),
}


def _onnx(name: str, fold: bool = True):
    if name in DEFINITIONS:
        path, shapes = DEFINITIONS[name]
        net = load_net(shared_path(path), None, shapes)
        demo = {layer: RawLayer(layer, "", [RawBlob(b.reshape(-1), b.shape, False) for b in blobs])
                for layer, blobs in synthetic_blobs(net, calibrate=False).items()}  # values do not matter here
        attach_weights(net, demo, "demo weights")
    else:
        case = golden_case(name)
        net = load_net(case["prototxt_path"], case["weights_path"])
    return build_onnx(build_graph(net, fold_batchnorm=fold)).to_proto()


def _op_counts(model) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


@pytest.mark.parametrize("name", GOLDEN + list(DEFINITIONS))
def test_onnxslim_finds_nothing_to_remove(name) -> None:
    model = _onnx(name)
    assert not {"Identity", "Dropout", "BatchNormalization"} & set(_op_counts(model))
    slimmed = onnxslim.slim(model)
    assert _op_counts(slimmed) == _op_counts(model)
    assert len(slimmed.graph.initializer) == len(model.graph.initializer)


def test_an_unfolded_graph_gives_onnxslim_work() -> None:
    unfolded = _onnx("mobilenet_v2", fold=False)
    slimmed = onnxslim.slim(unfolded)
    assert len(slimmed.graph.node) < len(unfolded.graph.node)
    assert "BatchNormalization" in _op_counts(unfolded) and "BatchNormalization" not in _op_counts(slimmed)
