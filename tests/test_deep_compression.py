"""Issue 7: compressed_SqueezeNet.net decoded directly, bit for bit the weights Caffe ran with."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, SHARED, golden_case
from converter.caffe import caffe_pb2
from converter.caffe.loader import load_net
from converter.errors import WeightsError

FOLDER = SHARED / "reference_models" / "deep_compression_squeezenet"
PROTOTXT, NET_FILE = FOLDER / "SqueezeNet_deploy.prototxt", FOLDER / "compressed_SqueezeNet.net"


@pytest.fixture(scope="module")
def golden_weights() -> dict[str, list[np.ndarray]]:
    case = golden_case("deep_compression_cat")
    net = caffe_pb2.NetParameter()
    net.ParseFromString(case["weights_path"].read_bytes())
    return {layer.name: [np.array(b.data, np.float32) for b in layer.blobs] for layer in net.layer if layer.blobs}


def test_decoded_weights_equal_the_golden_caffemodel_bit_for_bit(golden_weights):
    net = load_net(PROTOTXT, NET_FILE)
    decoded = {layer.name: layer.blobs for layer in net.layers if layer.blobs}
    assert set(decoded) == set(golden_weights) and len(decoded) == 26
    for name, blobs in golden_weights.items():
        for mine, theirs in zip(decoded[name], blobs, strict=True):
            assert mine.reshape(-1).tobytes() == theirs.tobytes(), name


def test_recognised_by_content_not_extension(tmp_path, golden_weights):
    renamed = tmp_path / "weights.bin"
    renamed.write_bytes(NET_FILE.read_bytes())
    net = load_net(PROTOTXT, renamed)
    conv1 = net.layer("conv1").blobs[0]
    assert conv1.reshape(-1).tobytes() == golden_weights["conv1"][0].tobytes()


@pytest.mark.parametrize("change", [-1, 7])
def test_a_file_that_does_not_fit_the_prototxt_is_refused_with_sizes(tmp_path, change):
    data = NET_FILE.read_bytes()
    bad = tmp_path / "bad.net"
    bad.write_bytes(data[:change] if change < 0 else data + bytes(change))
    with pytest.raises(WeightsError, match=r"bytes, but Deep Compression weights .* take [\d,]+ bytes"):
        load_net(PROTOTXT, bad)


def test_cli_converts_and_verifies_against_caffe(tmp_path):
    case = golden_case("deep_compression_cat")
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), str(PROTOTXT), "--weights", str(NET_FILE),
                           "--out-dir", str(tmp_path), "--expect", str(case["blobs_path"])],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "against Caffe's recorded blobs" in done.stdout


def test_cat_top5_is_caffes(golden_weights):
    import onnxruntime as ort

    from converter import pipeline

    case = golden_case("deep_compression_cat")
    conversion = pipeline.convert(PROTOTXT, NET_FILE)
    pipeline.emit(conversion, formats=("onnx",))
    blobs = np.load(case["blobs_path"])
    session = ort.InferenceSession(conversion.onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    (scores,) = session.run(["pool_final"], {"data": blobs["input|data"]})
    expected = blobs["output|pool_final"]
    assert np.abs(scores - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max())
    assert list(np.argsort(-scores.reshape(-1), kind="stable")[:5]) == case["top5"]


def test_compact_onnx_keeps_codebook_form_small_and_exact(tmp_path):
    import onnx
    import onnxruntime as ort

    case = golden_case("deep_compression_cat")
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), str(PROTOTXT), "--weights", str(NET_FILE),
                           "--out-dir", str(tmp_path), "--name", "dc", "--compact", "--no-verify"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    compact, dense = tmp_path / "dc.compact.onnx", tmp_path / "dc.onnx"
    assert compact.stat().st_size <= 2 * NET_FILE.stat().st_size < dense.stat().st_size
    model = onnx.load(str(compact))
    onnx.checker.check_model(model, full_check=True)
    assert sum(t.data_type == onnx.TensorProto.UINT8 for t in model.graph.initializer) == 26
    blobs = np.load(case["blobs_path"])
    outputs = {}
    for path in (compact, dense):
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (outputs[path.name],) = session.run(["pool_final"], {"data": blobs["input|data"]})
    expected = blobs["output|pool_final"]
    assert np.abs(outputs["dc.compact.onnx"] - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max())
    assert np.abs(outputs["dc.compact.onnx"] - outputs["dc.onnx"]).max() <= 1e-6 * np.abs(expected).max()


def test_classify_the_cat_from_the_jpeg_gives_caffes_top5():
    """From cat.jpg itself (BGR, 227x227 bilinear, minus 104/117/123), as the golden case was made."""
    pytest.importorskip("cv2")
    case = golden_case("deep_compression_cat")
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "classify", str(PROTOTXT),
                           str(SHARED / "reference_models" / "images" / "cat.jpg"), "--weights", str(NET_FILE),
                           "--labels", str(SHARED / "reference_models" / "images" / "imagenet_synset_words.txt")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    ranked = [int(line.split()[1]) for line in done.stdout.splitlines()]
    assert ranked == case["top5"]
    assert "kit fox" in done.stdout.splitlines()[0] and "'" not in done.stdout
