"""Issue 7: compressed_SqueezeNet.net decoded directly, bit for bit the weights Caffe ran with."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, SHARED, golden_case, run_cli_in_process
from converter.caffe import caffe_pb2
from converter.caffe.loader import load_net
from converter.caffe.net import CaffeLayer, CaffeNet
from converter.errors import WeightsError

FOLDER = SHARED / "reference_models" / "deep_compression_squeezenet"
PROTOTXT, NET_FILE = FOLDER / "SqueezeNet_deploy.prototxt", FOLDER / "compressed_SqueezeNet.net"


@pytest.fixture(scope="module")
def golden_weights() -> dict[str, list[np.ndarray]]:
    case = golden_case("deep_compression_cat")
    net = caffe_pb2.NetParameter()
    net.ParseFromString(case["weights_path"].read_bytes())
    return {layer.name: [np.array(b.data, np.float32) for b in layer.blobs] for layer in net.layer if layer.blobs}


def _layer(net: CaffeNet, name: str) -> CaffeLayer:
    return next(layer for layer in net.layers if layer.name == name)


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
    conv1 = _layer(net, "conv1").blobs[0]
    assert conv1.reshape(-1).tobytes() == golden_weights["conv1"][0].tobytes()


@pytest.mark.parametrize("change", [-1, 7])
def test_a_file_that_does_not_fit_the_prototxt_is_refused_with_sizes(tmp_path, change):
    data = NET_FILE.read_bytes()
    bad = tmp_path / "bad.net"
    bad.write_bytes(data[:change] if change < 0 else data + bytes(change))
    with pytest.raises(WeightsError, match=r"bytes, but Deep Compression weights .* take [\d,]+ bytes"):
        load_net(PROTOTXT, bad)


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


def test_compact_onnx_is_small_its_weights_are_caffes_and_its_sizes_are_reported(tmp_path, golden_weights):
    import onnx
    import onnxruntime as ort

    case = golden_case("deep_compression_cat")
    done = run_cli_in_process(PROTOTXT, "--weights", NET_FILE, "--out-dir", tmp_path, "--name", "dc", "--compact",
                              "--expect", case["blobs_path"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "against Caffe's recorded blobs" in done.stdout
    compact, dense = tmp_path / "dc.compact.onnx", tmp_path / "dc.onnx"
    sizes = {path.name: path.stat().st_size for path in (compact, dense, NET_FILE)}
    # Issue 7: at most twice the .net; the stored form makes it barely more than the .net itself.
    assert sizes["dc.compact.onnx"] <= 1.2 * sizes[NET_FILE.name] < 2 * sizes[NET_FILE.name] < sizes["dc.onnx"]
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("sizes:")]
    for name, size in sizes.items():
        assert f"{name} {size:,} bytes" in line or f"{name} ({size:,} bytes)" in line, (name, line)

    model = onnx.load(str(compact))
    onnx.checker.check_model(model, full_check=True)
    big_floats = [t.name for t in model.graph.initializer
                  if t.data_type == onnx.TensorProto.FLOAT and np.prod(t.dims) > 1000]
    assert big_floats == []  # no dense weight left: at most biases (1000) and codebooks (256)

    # The weights the graph rebuilds are, bit for bit, those Caffe ran with.
    layer_of = {f"{name}.weight": name for name in golden_weights}
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.extend(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
                              for name in layer_of)
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    blobs = np.load(case["blobs_path"])
    names = ["pool_final", *layer_of]
    values = dict(zip(names, session.run(names, {"data": blobs["input|data"]}), strict=True))
    for tensor, layer in layer_of.items():
        assert values[tensor].reshape(-1).tobytes() == golden_weights[layer][0].tobytes(), layer

    expected = blobs["output|pool_final"]
    scale = max(1.0, np.abs(expected).max())
    assert np.abs(values["pool_final"] - expected).max() <= 1e-4 * scale
    dense_session = ort.InferenceSession(str(dense), providers=["CPUExecutionProvider"])
    (dense_scores,) = dense_session.run(["pool_final"], {"data": blobs["input|data"]})
    assert np.abs(values["pool_final"] - dense_scores).max() <= 1e-6 * scale


def test_compact_needs_deep_compression_weights_and_writes_nothing_otherwise(tmp_path):
    golden = golden_case("deep_compression_cat")["weights_path"]
    done = run_cli_in_process(PROTOTXT, "--weights", golden, "--out-dir", tmp_path, "--compact", "--no-verify")
    assert done.returncode == 2 and "Deep Compression" in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_existing_compact_output_stops_before_anything_is_written(tmp_path):
    existing = tmp_path / "dc.compact.onnx"
    existing.write_bytes(b"keep me")
    done = run_cli_in_process(PROTOTXT, "--weights", NET_FILE, "--out-dir", tmp_path, "--name", "dc", "--compact",
                              "--no-verify")
    assert done.returncode == 3 and "dc.compact.onnx" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dc.compact.onnx"]
    assert existing.read_bytes() == b"keep me"


def test_classify_the_cat_from_the_jpeg_gives_caffes_top5():
    """From cat.jpg itself (BGR, 227x227 bilinear, minus 104/117/123), as the golden case was made."""
    case = golden_case("deep_compression_cat")
    done = run_cli_in_process("classify", PROTOTXT, SHARED / "reference_models" / "images" / "cat.jpg", "--weights",
                              NET_FILE, "--labels",
                              SHARED / "reference_models" / "images" / "imagenet_synset_words.txt")
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    # The net ends at the global average pool (no softmax): its outputs are scores, not probabilities.
    assert header.split() == ["rank", "class", "score", "label"]
    assert [int(line.split()[1]) for line in rows] == case["top5"]
    assert "kit fox" in rows[0] and "'" not in done.stdout


def test_classify_calls_the_outputs_of_a_softmax_probabilities():
    case = golden_case("squeezenet_v1.1")
    done = run_cli_in_process("classify", case["prototxt_path"], SHARED / "reference_models" / "images" / "cat.jpg",
                              "-w", case["weights_path"])
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["rank", "class", "prob"] and len(rows) == 5
    assert all(0.0 <= float(line.split()[2]) <= 1.0 for line in rows)



def test_classify_a_train_val_net_given_its_input_size():
    """The train_val form of the same net reads images through a data layer: the size comes from
    --input-shape; a wrong --mean changes the ranking (so the option really reaches the pixels)."""
    case = golden_case("deep_compression_cat")
    trainval = PROTOTXT.parent / "SqueezeNet_trainval.prototxt"
    cat = SHARED / "reference_models" / "images" / "cat.jpg"
    args = ["classify", trainval, cat, "-w", NET_FILE]
    done = run_cli_in_process(*args)
    assert done.returncode == 2 and "give --input-shape" in done.stderr
    done = run_cli_in_process(*args, "--input-shape", "1,3,227,227")
    assert done.returncode == 0, done.stderr
    assert [int(line.split()[1]) for line in done.stdout.splitlines()[1:]] == case["top5"]
    done = run_cli_in_process(*args, "--input-shape", "1,3,227,227", "--mean", "0,0,255")
    assert done.returncode == 0 and [int(line.split()[1]) for line in done.stdout.splitlines()[1:]] != case["top5"]
    done = run_cli_in_process(*args, "--mean", "1,2")
    assert done.returncode == 2 and "three numbers" in done.stderr


def test_the_image_is_prepared_as_the_golden_case_was():
    """BGR, 227x227 bilinear, minus 104/117/123: the input Caffe was given, to float32 rounding."""
    from converter import demo

    case = golden_case("deep_compression_cat")
    recorded = np.load(case["blobs_path"])["input|data"]
    x = demo.load_image(SHARED / "reference_models" / "images" / "cat.jpg", (227, 227))
    assert x.shape == recorded.shape and x.dtype == np.float32
    assert np.abs(x - recorded).max() <= 1e-4


def test_classify_without_opencv_says_what_to_install():
    script = ("import sys; sys.modules['cv2'] = None; sys.argv[0] = 'squeeze-convert'; import cli; cli.main()")
    done = subprocess.run([sys.executable, "-c", script, "classify", str(PROTOTXT),
                           str(SHARED / "reference_models" / "images" / "cat.jpg"), "--weights", str(NET_FILE)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "opencv-python-headless" in done.stderr

# A small net with all three kinds of stored layer: "conv" (8-bit codes), "fc" and "ip" (4-bit codes).
# The file is written here from the format document by a plain loop, independently of the decoder.
TINY_PROTOTXT = """
name: "tiny"
input: "data"
input_shape { dim: 1 dim: 3 dim: 6 dim: 6 }
layer { name: "conv_a" type: "Convolution" bottom: "data" top: "a"
        convolution_param { num_output: 4 kernel_size: 3 stride: 2 } }
layer { name: "relu_conv_a" type: "ReLU" bottom: "a" top: "a" }
layer { name: "fc_b" type: "InnerProduct" bottom: "a" top: "b" inner_product_param { num_output: 5 } }
layer { name: "ip_c" type: "InnerProduct" bottom: "b" top: "c" inner_product_param { num_output: 3 } }
"""
TINY_SHAPES = {"conv_a": (4, 3, 3, 3), "fc_b": (5, 16), "ip_c": (3, 5)}


def _pack_nibbles(values: list[int]) -> bytes:
    padded = values + [0] * (len(values) % 2)
    return bytes(padded[i] | (padded[i + 1] << 4) for i in range(0, len(padded), 2))


def _encode_layer(codes: np.ndarray, bits: int) -> tuple[int, bytes, bytes]:
    """(nz, packed codes, packed gaps) for a flat array of codes, 0 meaning 'not stored'."""
    stored_codes, gaps, previous = [], [], -1
    for index in np.flatnonzero(codes):
        while index - previous > 16:  # a gap field holds at most 15: bridge with a code-0 entry
            previous += 16
            stored_codes.append(0)
            gaps.append(15)
        stored_codes.append(int(codes[index]))
        gaps.append(int(index - previous - 1))
        previous = index
    packed_codes = bytes(stored_codes) if bits == 8 else _pack_nibbles(stored_codes)
    return len(stored_codes), packed_codes, _pack_nibbles(gaps)


@pytest.fixture
def tiny(tmp_path):
    """The prototxt, the .net file and the weights and biases it must decode to."""
    rng = np.random.default_rng(7)
    expected, counts, sections = {}, [], []
    for name, shape in TINY_SHAPES.items():
        bits = 8 if "conv" in name else 4
        size = int(np.prod(shape))
        codes = rng.integers(1, 2**bits, size).astype(np.uint8)
        codes[rng.random(size) < 0.5] = 0  # pruned
        if name == "conv_a":
            codes[:40] = 0  # the first stored entry needs bridging entries before it
            codes[60:100] = 0  # and so does a long run inside
        codebook = rng.normal(0, 0.1, 2**bits).astype(np.float32)
        codebook[0] = 0.0 if name != "ip_c" else -0.25  # unstored entries take codebook[0], whatever it is
        bias = rng.normal(0, 0.1, shape[0]).astype(np.float32)
        nz, packed_codes, packed_gaps = _encode_layer(codes, bits)
        counts.append(nz)
        sections.append(codebook.astype("<f4").tobytes() + bias.astype("<f4").tobytes() + packed_codes + packed_gaps)
        expected[name] = (codebook[codes].reshape(shape), bias)
    assert counts[2] % 2 == 1 or counts[1] % 2 == 1, "want an odd count to exercise nibble padding"
    prototxt = tmp_path / "tiny.prototxt"
    prototxt.write_text(TINY_PROTOTXT)
    net_file = tmp_path / "tiny.net"
    net_file.write_bytes(np.array(counts, "<u4").tobytes() + b"".join(sections))
    return prototxt, net_file, expected


def test_decoder_follows_the_format_for_8_and_4_bit_layers(tiny):
    prototxt, net_file, expected = tiny
    net = load_net(prototxt, net_file)
    for name, (weight, bias) in expected.items():
        blobs = _layer(net, name).blobs
        assert blobs[0].shape == weight.shape, name
        assert blobs[0].tobytes() == weight.tobytes(), name
        assert blobs[1].reshape(-1).tobytes() == bias.tobytes(), name


def test_a_caffemodel_named_net_is_read_as_a_caffemodel(tmp_path, golden_weights):
    renamed = tmp_path / "weights.net"
    renamed.write_bytes(golden_case("deep_compression_cat")["weights_path"].read_bytes())
    net = load_net(PROTOTXT, renamed)
    assert _layer(net, "conv_final").blobs[0].reshape(-1).tobytes() == golden_weights["conv_final"][0].tobytes()


@pytest.mark.parametrize("suffix", [".bin", ".caffemodel", ""])
@pytest.mark.parametrize("change", [-763, 4])
def test_a_damaged_net_under_any_name_is_refused_with_sizes(tmp_path, suffix, change):
    """Recognised by its header (counts that fit the prototxt's layers), not by the extension."""
    data = NET_FILE.read_bytes()
    bad = tmp_path / f"weights{suffix}"
    bad.write_bytes(data[:change] if change < 0 else data + bytes(change))
    found, wanted = f"{len(data) + change:,}", f"{len(data):,}"
    with pytest.raises(WeightsError, match=rf"{found} bytes, but Deep Compression weights .* take {wanted} bytes"):
        load_net(PROTOTXT, bad)


def test_compact_onnx_rebuilds_4_bit_and_8_bit_layers_exactly(tiny):
    import onnx
    import onnxruntime as ort

    from converter import pipeline

    prototxt, net_file, expected = tiny
    conversion = pipeline.convert(prototxt, net_file)
    pipeline.emit(conversion, formats=("onnx",))
    model = pipeline.compact_onnx_for(conversion)
    onnx.checker.check_model(model, full_check=True)
    model.graph.output.extend(onnx.helper.make_tensor_value_info(f"{name}.weight", onnx.TensorProto.FLOAT, None)
                              for name in expected)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [f"{name}.weight" for name in expected]
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 6, 6)).astype(np.float32)
    for name, value in zip(expected, session.run(names, {"data": x}), strict=True):
        assert value.tobytes() == expected[name][0].tobytes(), name


def test_compact_refuses_weights_that_conversion_changed(tiny):
    """If a pass rewrote a stored weight (as --fold-batchnorm rescales convolutions), the stored
    form is no longer the model's weight: refuse rather than write a different model."""
    from converter import pipeline
    from converter.errors import ConverterError

    prototxt, net_file, _ = tiny
    conversion = pipeline.convert(prototxt, net_file)
    pipeline.emit(conversion, formats=("onnx",))
    weights = conversion.onnx_export.weights
    weights[:] = [(name, array * 2 if name == "fc_b.weight" else array) for name, array in weights]
    with pytest.raises(ConverterError, match="fc_b.weight"):
        pipeline.compact_onnx_for(conversion)


def test_compact_onnx_for_checks_the_expansion_bit_for_bit(tiny, monkeypatch):
    """The check is the library's, always made (not the CLI's, skipped under --no-verify): an
    expansion that rebuilds another weight is refused, naming the weight."""
    from onnx import numpy_helper

    from converter import pipeline
    from converter.emit.onnx import compact
    from converter.errors import VerificationError

    prototxt, net_file, _ = tiny
    conversion = pipeline.convert(prototxt, net_file)
    pipeline.emit(conversion, formats=("onnx",))
    real = compact.compact_onnx

    def off_by_one_code(model, stored):
        built = real(model, stored)
        table = next(t for t in built.graph.initializer if t.name == "fc_b.weight.codebook")
        table.CopyFrom(numpy_helper.from_array(np.roll(numpy_helper.to_array(table), 1), table.name))
        return built

    monkeypatch.setattr(compact, "compact_onnx", off_by_one_code)
    with pytest.raises(VerificationError, match=r"differ from the dense ones for fc_b\.weight;"):
        pipeline.compact_onnx_for(conversion)


def test_compact_is_checked_under_no_verify_too(tiny, tmp_path):
    prototxt, net_file, _ = tiny
    done = run_cli_in_process(prototxt, "--weights", net_file, "--out-dir", tmp_path / "out", "--compact",
                              "--no-verify")
    assert done.returncode == 0, done.stderr
    assert "compact ONNX expands its 3 codebook weights bit for bit" in done.stdout


def test_the_compact_emitter_knows_nothing_of_caffe():
    import ast

    source = (ROOT / "converter" / "emit" / "onnx" / "compact.py").read_text()
    imported = [node.module or "" for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Import)
                 for alias in node.names]
    assert not [name for name in imported if name.startswith("converter.caffe")]
