"""Issue 6: malformed input gets a clear error naming what and where, a documented exit code,
no traceback, no half-written output, and inputs left untouched."""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import ROOT, golden_case, run_cli_in_process
from converter.caffe.loader import build_net, load_net
from converter.caffe.prototxt import parse_prototxt, parse_prototxt_text
from converter.errors import (
    ModelError,
    OutputError,
    PrototxtSyntaxError,
    UnsupportedLayersError,
    WeightsError,
)

HEADER = 'input: "data"\ninput_shape { dim: 1 dim: 3 dim: 8 dim: 8 }\n'


def conv(name: str, bottom: str, top: str, outputs: int = 4, kernel: int = 3) -> str:
    return (f'layer {{ name: "{name}" type: "Convolution" bottom: "{bottom}" top: "{top}" '
            f"convolution_param {{ num_output: {outputs} kernel_size: {kernel} }} }}\n")


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """A real process: its exit status, and no traceback on its stderr."""
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def test_syntax_error_reports_file_line_column(tmp_path):
    path = tmp_path / "bad.prototxt"
    path.write_text(HEADER + 'layer {\n  name: "c"\n  type: "ReLU"\n  bottom: "data" top: "data"\n  oops {\n}\n')
    with pytest.raises(PrototxtSyntaxError) as caught:
        parse_prototxt(path)
    assert (caught.value.line, caught.value.column) == (7, 3)
    assert str(caught.value).startswith(f"{path}:7:3: ")
    done = run_cli(path, "--weights", path)
    assert done.returncode == 2
    assert f"{path}:7:3" in done.stderr and "Traceback" not in done.stderr


def test_unknown_field_is_a_syntax_error_with_its_position():
    with pytest.raises(PrototxtSyntaxError, match=r"<t>:3:\d+: .*colour"):
        parse_prototxt_text(HEADER + 'colour: "red"\n', "<t>")


def test_invalid_utf8_is_located(tmp_path):
    path = tmp_path / "bin.prototxt"
    path.write_bytes(HEADER.encode() + b'name: "\xff"\n')
    with pytest.raises(PrototxtSyntaxError, match=r"bin.prototxt:3:8: not valid UTF-8"):
        parse_prototxt(path)


def test_misspelled_bottom_names_layer_and_suggests():
    net = parse_prototxt_text(HEADER + conv("c1", "dta", "c1"))
    with pytest.raises(ModelError, match=r"layer 'c1': bottom 'dta' .* did you mean 'data'"):
        build_net(net)


def test_cycle_or_out_of_order_bottom():
    net = parse_prototxt_text(HEADER + conv("c1", "c2", "c1") + conv("c2", "c1", "c2"))
    with pytest.raises(ModelError, match=r"layer 'c1': bottom 'c2' is only produced later"):
        build_net(net)


def test_duplicate_top_not_in_place():
    net = parse_prototxt_text(HEADER + conv("c1", "data", "x") + conv("c2", "data", "x"))
    with pytest.raises(ModelError, match=r"layer 'c2': top 'x' is already produced by layer 'c1'"):
        build_net(net)


def test_every_unsupported_type_listed_at_once(tmp_path):
    text = HEADER + "".join(
        f'layer {{ name: "{n}" type: "{t}" bottom: "data" top: "{n}" }}\n'
        for n, t in [("a", "Foo"), ("b", "Bar"), ("c", "Foo")])
    with pytest.raises(UnsupportedLayersError) as caught:
        build_net(parse_prototxt_text(text))
    assert caught.value.unsupported == {"Foo": ["a", "c"], "Bar": ["b"]}
    path = tmp_path / "u.prototxt"
    path.write_text(text)
    done = run_cli_in_process(path, "--weights", path, "--out-dir", tmp_path / "out")
    assert done.returncode == 2
    assert "Foo: a, c" in done.stderr and "Bar: b" in done.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


@pytest.mark.parametrize("dims", ["1 dim: 3 dim: 0 dim: 8", "1 dim: 3 dim: -4 dim: 8",
                                  "1000000000 dim: 3 dim: 227 dim: 227"])
def test_bad_dimensions_refused_before_allocating(dims):
    net = parse_prototxt_text(f'input: "data"\ninput_shape {{ dim: {dims} }}\n' + conv("c1", "data", "c1"))
    with pytest.raises(ModelError, match="input 'data'"):
        build_net(net)


def test_kernel_larger_than_input_names_layer():
    net = parse_prototxt_text(HEADER + conv("big", "data", "big", kernel=11))
    with pytest.raises(ModelError, match="big"):
        build_net(net)


def _tiny(tmp_path: Path) -> tuple[Path, Path]:
    from converter.caffe.synthetic import write_synthetic_weights

    proto = tmp_path / "tiny.prototxt"
    proto.write_text(HEADER + conv("c1", "data", "c1") + 'layer { name: "r" type: "ReLU" bottom: "c1" top: "c1" }\n')
    weights = tmp_path / "tiny.caffemodel"
    write_synthetic_weights(proto, weights)
    return proto, weights


@contextlib.contextmanager
def _first_layer(weights: Path) -> Iterator[Any]:
    """The caffemodel's first layer, parsed by protobuf, written back when the block ends."""
    from converter.caffe import caffe_pb2

    net = caffe_pb2.NetParameter()
    net.ParseFromString(weights.read_bytes())
    yield net.layer[0]
    weights.write_bytes(net.SerializeToString())


def test_weights_of_the_wrong_shape_name_layer_expected_and_found(tmp_path):
    proto, weights = _tiny(tmp_path)
    other = tmp_path / "other.prototxt"
    other.write_text(HEADER + conv("c1", "data", "c1", outputs=5))
    with pytest.raises(WeightsError, match=r"layer 'c1': .*\[5, 3, 3, 3\].*\[4, 3, 3, 3\]"):
        load_net(other, weights)


def test_caffemodel_of_another_net(tmp_path):
    _, weights = _tiny(tmp_path)
    other = tmp_path / "other.prototxt"
    other.write_text(HEADER + conv("zzz", "data", "zzz"))
    with pytest.raises(WeightsError, match="another net"):
        load_net(other, weights)


def test_truncated_and_random_caffemodels(tmp_path):
    proto, weights = _tiny(tmp_path)
    data = weights.read_bytes()
    for name, content in [("cut", data[: len(data) - 7]),
                          ("noise", np.random.default_rng(3).bytes(len(data)))]:
        path = tmp_path / f"{name}.caffemodel"
        path.write_bytes(content)
        with pytest.raises(WeightsError):
            load_net(proto, path)


def _with_values(tmp_path, values: dict[int, float]) -> tuple[Path, Path]:
    proto, weights = _tiny(tmp_path)
    with _first_layer(weights) as layer:
        for index, value in values.items():
            layer.blobs[0].data[index] = value
    return proto, weights


@pytest.mark.parametrize("values", [{3: float("nan")}, {0: float("inf")}, {7: -float("inf")},
                                    {1: float("inf"), 2: -float("inf")}, {5: float("nan"), 6: 3e38}])
def test_nan_and_infinite_weights_reported(tmp_path, values):
    proto, weights = _with_values(tmp_path, values)
    count = sum(not np.isfinite(v) for v in values.values())
    with pytest.raises(WeightsError, match=rf"layer 'c1': blob 0 holds {count} NaN or infinite"):
        load_net(proto, weights)


def test_huge_finite_weights_accepted(tmp_path):
    # Their float32 sum overflows: finiteness must still be judged value by value.
    proto, weights = _with_values(tmp_path, {i: 3e38 for i in range(8)})
    net = load_net(proto, weights)
    assert np.isfinite(net.layers[0].blobs[0]).all() and net.layers[0].blobs[0].max() == np.float32(3e38)


def _digest(paths: list[Path]) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_outputs_never_overwrite_inputs_and_need_force(tmp_path):
    proto, weights = _tiny(tmp_path)
    before = _digest([proto, weights])
    clash = run_cli_in_process(proto, "--weights", weights, "--name", "tiny", "--format", "onnx", "--no-verify",
                    "--out-dir", tmp_path)
    assert clash.returncode == 0, clash.stderr  # tiny.onnx does not clash with tiny.prototxt
    again = run_cli_in_process(proto, "--weights", weights, "--name", "tiny", "--format", "onnx", "--no-verify",
                    "--out-dir", tmp_path)
    assert again.returncode == 3 and "--force" in again.stderr
    forced = run_cli_in_process(proto, "--weights", weights, "--name", "tiny", "--format", "onnx", "--no-verify",
                     "--out-dir", tmp_path, "--force")
    assert forced.returncode == 0, forced.stderr
    assert _digest([proto, weights]) == before
    assert not list(tmp_path.glob("*.partial"))


def test_output_colliding_with_an_input_is_refused(tmp_path):
    from converter.fileio import check_outputs

    proto, weights = _tiny(tmp_path)
    with pytest.raises(OutputError, match="is one of the inputs"):
        check_outputs([tmp_path / "tiny.caffemodel"], [proto, weights], force=True)


def test_unwritable_output_directory(tmp_path):
    proto, weights = _tiny(tmp_path)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    done = run_cli(proto, "--weights", weights, "--no-verify", "--out-dir", blocker / "out")
    assert done.returncode == 3, done.stderr
    assert "cannot create" in done.stderr and "Traceback" not in done.stderr


def test_atomic_output_leaves_nothing_on_failure(tmp_path):
    from converter.fileio import atomic_output

    target = tmp_path / "model.onnx"
    with pytest.raises(RuntimeError), atomic_output(target) as f:
        f.write(b"half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_golden_inputs_untouched_by_a_conversion(tmp_path):
    case = golden_case("squeezenet_v1.1")
    files = [case["prototxt_path"], case["weights_path"]]
    before = _digest(files)
    done = run_cli_in_process(case["prototxt_path"], "--weights", case["weights_path"], "--out-dir", tmp_path,
                   "--no-verify", "--format", "onnx")
    assert done.returncode == 0, done.stderr
    assert _digest(files) == before


def _layer(name: str, kind: str, bottom: str, top: str, extra: str = "") -> str:
    return f'layer {{ name: "{name}" type: "{kind}" bottom: "{bottom}" top: "{top}" {extra} }}\n'


def test_negative_batchnorm_eps_names_the_layer():
    net = parse_prototxt_text(HEADER + _layer("bn", "BatchNorm", "data", "bn", "batch_norm_param { eps: -1 }"))
    with pytest.raises(ModelError, match=r"layer 'bn': eps must be non-negative"):
        build_net(net)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_parameters_name_layer_and_field(value):
    net = parse_prototxt_text(HEADER + _layer("p", "Power", "data", "p", f"power_param {{ scale: {value} }}"))
    with pytest.raises(ModelError, match=rf"layer 'p': power_param.scale is {value}"):
        build_net(net)


def test_more_axes_than_caffe_allows():
    dims = " ".join(["dim: 1"] * 33)
    net = parse_prototxt_text(f'input: "data"\ninput_shape {{ {dims} }}\n' + _layer("r", "ReLU", "data", "r"))
    with pytest.raises(ModelError, match="33 axes; Caffe allows at most 32"):
        build_net(net)


@pytest.mark.parametrize("text", [
    HEADER.replace('input: "data"\n', 'input: "data"\ninput: "data"\n') + HEADER.split("\n")[1] + "\n",
    HEADER + 'layer { name: "in" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }\n',
])
def test_an_input_declared_twice(text):
    with pytest.raises(ModelError, match=r"'data' .*(more than once|already a net input)"):
        build_net(parse_prototxt_text(text + _layer("r", "ReLU", "data", "r")))


def test_input_layer_needs_one_shape_or_one_per_top():
    text = ('layer { name: "in" type: "Input" top: "a" input_param { shape { dim: 1 dim: 2 } shape { dim: 1 } '
            "shape { dim: 3 } } }\n" + _layer("r", "ReLU", "a", "r"))
    with pytest.raises(ModelError, match=r"layer 'in': input_param must give 'shape' once.*: 1 tops, 3 shapes"):
        build_net(parse_prototxt_text(text))


@pytest.mark.parametrize("layer", [
    _layer("p", "Pooling", "data", "data", "pooling_param { pool: MAX kernel_size: 2 stride: 2 }"),
    conv("c", "data", "data"),
])
def test_in_place_layer_that_reshapes_its_bottom(layer):
    with pytest.raises(ModelError, match=r"in place \(top 'data' is also its bottom\)"):
        build_net(parse_prototxt_text(HEADER + layer))


def test_empty_blob_names_are_refused():
    with pytest.raises(ModelError, match=r"layer 'r': a top has an empty name"):
        build_net(parse_prototxt_text(HEADER + _layer("r", "ReLU", "data", "")))


@pytest.mark.parametrize("layer", [
    _layer("ip", "InnerProduct", "data", "ip", "inner_product_param { num_output: 2000000000 }"),
    'layer { name: "d" type: "Deconvolution" bottom: "data" top: "d" '
    "convolution_param { num_output: 4 kernel_size: 20000 } }\n",
])
def test_weight_blobs_no_caffemodel_could_hold_are_refused_before_allocating(tmp_path, layer):
    proto = tmp_path / "huge.prototxt"
    proto.write_text(HEADER + layer)
    done = run_cli_in_process("make-weights", proto)
    assert done.returncode == 2, done.stderr
    assert "a caffemodel can hold" in done.stderr and "out of memory" not in done.stderr
    assert not proto.with_suffix(".caffemodel").exists()


def _npz_with_member(path: Path, name: str, header: dict, data: bytes) -> None:
    import zipfile

    from numpy.lib import format as npy

    with zipfile.ZipFile(path, "w") as archive, archive.open(name, "w") as member:
        npy.write_array_header_1_0(member, header)
        member.write(data)


def test_recorded_blobs_that_are_not_a_readable_npz(tmp_path):
    from converter.errors import ConverterError
    from converter.verify import load_recorded

    good = tmp_path / "good.npz"
    np.savez(good, **{"input|data": np.ones((1, 3, 8, 8), np.float32)})
    cases = {"cut.npz": good.read_bytes()[:300], "text.npz": b"hello"}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
    np.savez(tmp_path / "objects.npz", **{"input|data": np.array([object()], dtype=object)})
    np.savez(tmp_path / "strings.npz", **{"input|data": np.array(["a"])})
    np.savez(tmp_path / "nan.npz", **{"input|data": np.full((1, 3, 8, 8), np.nan, np.float32)})
    huge = {"descr": "<f4", "fortran_order": False, "shape": (100000, 100000, 100000)}
    _npz_with_member(tmp_path / "huge.npz", "input|data.npy", huge, b"\0" * 64)
    small = {"descr": "<f4", "fortran_order": False, "shape": (1, 3, 8, 8)}
    _npz_with_member(tmp_path / "short.npz", "input|data.npy", small, b"\0" * 64)
    _npz_with_member(tmp_path / "long.npz", "input|data.npy", small, b"\0" * (1 << 20))
    expected = {"cut.npz": "not a readable", "text.npz": "not a readable", "objects.npz": "object values",
                "strings.npz": "not numbers", "nan.npz": "NaN", "huge.npz": "larger than any blob",
                "short.npz": "bytes of data", "long.npz": "bytes of data"}
    for name, message in expected.items():
        with pytest.raises(ConverterError, match=message):
            load_recorded(tmp_path / name)


def test_recorded_integer_blobs_become_float32(tmp_path):
    from converter.verify import load_recorded

    path = tmp_path / "ints.npz"
    np.savez(path, **{"input|data": np.arange(6, dtype=np.int64).reshape(1, 6)})
    inputs, _, _ = load_recorded(path)
    assert inputs["data"].dtype == np.float32
    np.testing.assert_array_equal(inputs["data"], [[0, 1, 2, 3, 4, 5]])


def test_recorded_blob_of_another_shape_is_bad_input(tmp_path):
    from converter import pipeline
    from converter.errors import ConverterError

    proto, weights = _tiny(tmp_path)
    recorded = tmp_path / "blobs.npz"
    np.savez(recorded, **{"input|data": np.ones((1, 3, 8, 8), np.float32),
                          "layer|c1|c1": np.ones((3,), np.float32)})
    conversion = pipeline.convert(proto, weights)
    with pytest.raises(ConverterError, match=r"records layer\|c1\|c1 of shape \[3\], the net makes \[1, 4, 6, 6\]"):
        pipeline.run_verification(conversion, backends=("pytorch",), expect=recorded)


def test_byte_order_mark_is_accepted_and_positions_stay_right(tmp_path):
    path = tmp_path / "bom.prototxt"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER.encode() + conv("c1", "data", "c1").encode())
    assert [layer.name for layer in build_net(parse_prototxt(path)).layers] == ["c1"]
    path.write_bytes(b"\xef\xbb\xbf" + HEADER.encode() + b"oops {\n")
    with pytest.raises(PrototxtSyntaxError, match=r"bom.prototxt:3:1: "):
        parse_prototxt(path)


def test_syntax_error_quotes_at_most_the_start_of_a_long_line():
    with pytest.raises(PrototxtSyntaxError) as caught:
        parse_prototxt_text("layer " + "{ " * 50000 + "}" * 50000, "<t>")
    assert (caught.value.line, caught.value.column) == (1, 9)
    assert len(str(caught.value)) < 200 and "..." in str(caught.value)


def test_invisible_characters_in_names_are_shown_escaped(tmp_path):
    path = tmp_path / "names.prototxt"
    path.write_text(HEADER + conv("evil\u202e\x1b[2J", "nowhere", "x"))
    done = run_cli_in_process("inspect", path)
    assert done.returncode == 2
    assert "evil\\u202e\\x1b[2J" in done.stderr
    assert "\u202e" not in done.stderr and "\x1b" not in done.stderr


def test_double_data_is_read_as_caffe_reads_it(tmp_path):
    proto, weights = _tiny(tmp_path)
    with _first_layer(weights) as layer:
        layer.blobs[1].double_data.extend([1.5, 2.5, 3.5, 4.5])  # Blob::FromProto prefers double_data
    np.testing.assert_array_equal(load_net(proto, weights).layers[0].blobs[1], [1.5, 2.5, 3.5, 4.5])
    with _first_layer(weights) as layer:
        del layer.blobs[1].double_data[:]
        layer.blobs[1].double_data.extend([1e300, 0, 0, 0])
    with pytest.raises(WeightsError, match=r"layer 'c1': blob 1 holds 1 NaN or infinite"):
        load_net(proto, weights)


def test_negative_blob_dimensions_are_shown_as_negative(tmp_path):
    proto, weights = _tiny(tmp_path)
    with _first_layer(weights) as layer:
        layer.blobs[0].shape.dim[0] = -4
    with pytest.raises(WeightsError, match=r"should have shape \[4, 3, 3, 3\], .* has \[-4, 3, 3, 3\]"):
        load_net(proto, weights)


def test_blob_whose_values_do_not_fill_its_own_shape(tmp_path):
    proto, weights = _tiny(tmp_path)
    with _first_layer(weights) as layer:
        del layer.blobs[0].data[100:]  # shape still says 4x3x3x3
    with pytest.raises(WeightsError, match=r"layer 'c1': blob 0 .* has \[4, 3, 3, 3\] \(but 100 values, not the 108"):
        load_net(proto, weights)
