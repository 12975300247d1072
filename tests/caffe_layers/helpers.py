"""Shared test helpers: golden cases computed by BVLC Caffe, and OpenCV's Caffe importer as an oracle.

Nothing here computes an expected value: expectations come from ../shared/golden (real Caffe),
from OpenCV's independent implementation, or are written out by hand in the tests.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest
from google.protobuf import text_format

from conftest import GOLDEN, SHARED
from converter.caffe import caffe_pb2
from converter.caffe.layers import LAYER_TYPES
from converter.caffe.net import CaffeLayer, Shape

CASES = ["layer_zoo", "squeezenet_v1.1", "mobilenet_v1", "squeezenet_v1.0", "mobilenet_v2", "deep_compression_cat"]


def assert_close(actual: np.ndarray, expected: np.ndarray, what: str = "top") -> None:
    """The golden README's rule: max|a-b| <= 1e-4 * max(1, max|b|), same shape, float32 result."""
    assert actual.dtype == np.float32, f"{what}: dtype {actual.dtype}, expected float32"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert np.isfinite(actual).all() == np.isfinite(expected).all(), f"{what}: non-finite values differ"
    err = float(np.abs(actual.astype(np.float64) - expected).max()) if expected.size else 0.0
    bound = 1e-4 * max(1.0, float(np.abs(expected).max()) if expected.size else 0.0)
    assert err <= bound, f"{what}: max abs err {err:.3g} > {bound:.3g}"


def make_layer(text: str, bottoms: Sequence[Shape] = (), blobs: Sequence[np.ndarray] = ()) -> CaffeLayer:
    """A CaffeLayer from one prototxt `layer { ... }` body (name, type, bottom, top, params)."""
    param = text_format.Parse(text, caffe_pb2.LayerParameter())
    return CaffeLayer(param.name or param.type.lower(), param.type, list(param.bottom), list(param.top), param,
                      [np.asarray(b, np.float32) for b in blobs], [tuple(s) for s in bottoms])


def run(layer: CaffeLayer, *inputs: np.ndarray) -> list[np.ndarray]:
    """output_shapes then forward, checking forward's tops have the promised shapes and dtype."""
    kind = LAYER_TYPES[layer.type]
    shapes = kind.output_shapes(layer, [tuple(x.shape) for x in inputs])
    outputs = kind.forward(layer, [np.asarray(x, np.float32) for x in inputs])
    assert [tuple(o.shape) for o in outputs] == [tuple(s) for s in shapes]
    assert all(o.dtype == np.float32 for o in outputs)
    return outputs


# ---------------------------------------------------------------------------------------------- golden


@functools.cache
def golden(case: str) -> tuple[dict, dict[str, np.ndarray], dict[str, caffe_pb2.LayerParameter], dict]:
    """case.json, blobs.npz, prototxt layers by name, and caffemodel blobs by layer name."""
    folder = GOLDEN / case
    if not (folder / "case.json").exists():
        pytest.fail(f"golden case {case} not found under {GOLDEN}: the tests need ../shared beside the repo")
    info = json.loads((folder / "case.json").read_text())
    with np.load(folder / "blobs.npz") as npz:
        blobs = {k: npz[k] for k in npz.files}
    net = text_format.Parse((SHARED / info["prototxt"]).read_text(), caffe_pb2.NetParameter())
    params = {layer.name: layer for layer in net.layer}
    model = caffe_pb2.NetParameter()
    model.ParseFromString((folder / info["weights_file"]).read_bytes())
    weights: dict[str, list[np.ndarray]] = {}
    for layer in [*model.layer, *model.layers]:
        if layer.blobs and layer.name not in weights:
            weights[layer.name] = [_blob_array(b) for b in layer.blobs]
    return info, blobs, params, weights


def _blob_array(blob: caffe_pb2.BlobProto) -> np.ndarray:
    legacy = (blob.num, blob.channels, blob.height, blob.width)
    shape = tuple(blob.shape.dim) if blob.HasField("shape") else legacy
    data = np.asarray(blob.double_data if len(blob.double_data) else blob.data, dtype=np.float32)
    return data.reshape(shape)


def _bottom_keys(case: str, name: str) -> list[str]:
    """blobs.npz keys holding each bottom as it was when layer `name` ran."""
    info, _, _, _ = golden(case)
    keys: list[str] = []
    order = [layer["name"] for layer in info["layers"]]
    here = info["layers"][order.index(name)]
    for bottom in here["bottoms"]:
        key = f"input|{bottom}"
        for earlier in info["layers"][: order.index(name)]:
            if bottom in earlier["tops"]:
                key = f"layer|{earlier['name']}|{bottom}"
        keys.append(key)
    return keys


def golden_layers(layer_type: str, cases: Sequence[str] = CASES) -> list:
    """pytest params (case, layer name) for every layer of this type whose bottoms and tops Caffe
    stored (blobs.npz holds only some layers' blobs: the others are left out). None at all fails."""
    found = []
    for case in cases:
        info, blobs, _, _ = golden(case)
        for layer in info["layers"]:
            if layer["type"] != layer_type:
                continue
            keys = _bottom_keys(case, layer["name"]) + [f"layer|{layer['name']}|{t}" for t in layer["tops"]]
            if all(k in blobs for k in keys):
                found.append(pytest.param(case, layer["name"], id=f"{case}:{layer['name']}"))
    if not found:
        pytest.fail(f"no golden {layer_type} layer with stored bottoms and tops in {', '.join(cases)} under {GOLDEN}",
                    pytrace=False)
    return found


def golden_layer(case: str, name: str) -> tuple[CaffeLayer, list[np.ndarray], list[np.ndarray], list[Shape]]:
    """The layer with its Caffe weights, its stored bottoms, its stored tops and its recorded top shapes."""
    info, blobs, params, weights = golden(case)
    record = next(layer for layer in info["layers"] if layer["name"] == name)
    param = params[name]
    bottoms = [blobs[k] for k in _bottom_keys(case, name)]
    layer = CaffeLayer(name, param.type, list(param.bottom), list(param.top), param, weights.get(name, []),
                       [tuple(b.shape) for b in bottoms])
    tops = [blobs[f"layer|{name}|{t}"] for t in record["tops"]]
    return layer, bottoms, tops, [tuple(s) for s in record["shapes"]]


def check_golden(case: str, name: str) -> None:
    """Shapes, blob shapes and forward values of one golden layer against what Caffe recorded."""
    layer, bottoms, tops, shapes = golden_layer(case, name)
    kind = LAYER_TYPES[layer.type]
    assert kind.output_shapes(layer, layer.bottom_shapes) == shapes
    if kind.blob_shapes is not None:
        assert kind.blob_shapes(layer, layer.bottom_shapes) == [b.shape for b in layer.blobs]
    else:
        assert not layer.blobs
    outputs = kind.forward(layer, bottoms)
    assert len(outputs) == len(tops)
    for i, (actual, expected) in enumerate(zip(outputs, tops, strict=True)):
        assert_close(actual, expected, f"{case}:{name} top {i}")


# ---------------------------------------------------------------------------------------------- OpenCV


def opencv_forward(
    tmp_path: Path,
    layer_text: str,
    inputs: dict[str, np.ndarray],
    blobs: Sequence[np.ndarray] = (),
) -> list[np.ndarray]:
    """Run one layer (prototxt body `layer_text`) in OpenCV's Caffe importer; inputs declared as Input layers.

    Returns every output OpenCV gives that layer, in top order.
    """
    net = caffe_pb2.NetParameter(name="oracle")
    for name, value in inputs.items():
        data = net.layer.add(name=name, type="Input", top=[name])
        data.input_param.shape.add(dim=list(value.shape))
    layer = net.layer.add()
    text_format.Parse(layer_text, layer)
    prototxt, caffemodel = tmp_path / "net.prototxt", tmp_path / "net.caffemodel"
    prototxt.write_text(text_format.MessageToString(net))
    for blob in blobs:
        proto = layer.blobs.add()
        proto.shape.dim.extend(np.shape(blob))
        proto.data.extend(np.asarray(blob, np.float32).ravel().tolist())
    caffemodel.write_bytes(net.SerializeToString())
    cv_net = cv2.dnn.readNetFromCaffe(str(prototxt), str(caffemodel))
    cv_net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    cv_net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    for name, value in inputs.items():
        cv_net.setInput(np.ascontiguousarray(value, np.float32), name)
    (outputs,) = cv_net.forwardAndRetrieve([layer.name])
    return [np.asarray(o) for o in outputs]
