"""Property-based, where issue 14 found none: the Deep Compression decoder, the npz reader, the
--input-shape parser, whole caffemodels (not cut to their first layers), random small nets through
export and verification (the generated module included), and the CLI's exit codes. Few examples
each: these run in the suite."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fuzz_reader import caffemodel_reader, mutations_raise_only_converter_errors

from conftest import golden_case
from converter import pipeline
from converter.caffe.loader import load_net
from converter.caffe.prototxt import parse_prototxt_text
from converter.errors import ConverterError

FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                      HealthCheck.function_scoped_fixture])


def _deep_compression_file(folder: Path) -> tuple[Path, bytes]:
    """A valid Deep Compression file for test_deep_compression's tiny net, built as that test builds it."""
    from test_deep_compression import TINY_PROTOTXT, TINY_SHAPES, _encode_layer

    rng = np.random.default_rng(3)
    counts, sections = [], []
    for name, shape in TINY_SHAPES.items():
        bits = 8 if "conv" in name else 4
        codes = rng.integers(0, 2**bits, int(np.prod(shape))).astype(np.uint8)
        nz, packed_codes, packed_gaps = _encode_layer(codes, bits)
        counts.append(nz)
        sections.append(rng.normal(size=2**bits + shape[0]).astype("<f4").tobytes() + packed_codes + packed_gaps)
    prototxt = folder / "tiny.prototxt"
    prototxt.write_text(TINY_PROTOTXT)
    return prototxt, np.array(counts, "<u4").tobytes() + b"".join(sections)


def test_mutated_deep_compression_files_raise_only_converter_errors(tmp_path_factory):
    from converter.caffe.deep_compression import decode

    folder = tmp_path_factory.mktemp("dc")
    prototxt, valid = _deep_compression_file(folder)
    net = load_net(prototxt)
    assert len(decode(valid, net, "valid.net")) == 3

    def read(path: Path) -> None:
        with contextlib.suppress(ConverterError):
            decode(path.read_bytes(), net, "mutated.net")
        load_net(prototxt, path)

    mutations_raise_only_converter_errors(valid, read, folder / "m.net", FEW)


def test_mutated_recorded_blobs_raise_only_converter_errors(tiny, tmp_path_factory):
    from converter.verify import load_recorded_for

    proto, weights = tiny
    net = load_net(proto, weights)
    folder = tmp_path_factory.mktemp("npz")
    valid = folder / "valid.npz"
    np.savez_compressed(valid, **{"input|data": np.ones((1, 3, 8, 8), np.float32),
                                  "layer|c1|c1": np.ones((1, 4, 6, 6), np.float32),
                                  "output|c2": np.ones((1, 2, 6, 6), np.float32)})
    assert load_recorded_for(net, valid).layers

    mutations_raise_only_converter_errors(valid.read_bytes(), lambda path: load_recorded_for(net, path),
                                          folder / "m.npz", FEW)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=20) | st.from_regex(r"\A(\w+=)?-?\d{1,4}([,x ]-?\d{1,4}){0,5}\Z"), max_size=3))
def test_input_shape_parsing_gives_positive_shapes_or_a_usage_error(values):
    from cli import parse_input_shapes

    try:
        shapes = parse_input_shapes(tuple(values))
    except click.BadParameter:
        return
    for shape in (shapes.values() if isinstance(shapes, dict) else shapes):
        assert shape and all(isinstance(d, int) and d > 0 for d in shape)


def test_mutations_anywhere_in_a_whole_caffemodel_raise_only_converter_errors(tmp_path_factory):
    """The whole SqueezeNet caffemodel, mutated anywhere (the reader test cuts it to its head)."""
    case = golden_case("squeezenet_v1.1")
    net_proto = parse_prototxt_text(Path(case["prototxt_path"]).read_text())
    whole = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.data_too_large])
    mutations_raise_only_converter_errors(
        Path(case["weights_path"]).read_bytes(),
        caffemodel_reader(net_proto), tmp_path_factory.mktemp("whole") / "m.caffemodel", whole)


@st.composite
def small_nets(draw: st.DrawFn) -> str:
    """A random chain of common layers on a small input, as prototxt text."""
    channels, height, width = draw(st.integers(1, 3)), draw(st.integers(3, 9)), draw(st.integers(3, 9))
    lines = [f'input: "data"\ninput_shape {{ dim: 1 dim: {channels} dim: {height} dim: {width} }}\n']
    blob = "data"
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["Convolution", "ReLU", "Pooling", "InnerProduct", "Sigmoid", "TanH",
                                     "Dropout", "LRN", "Softmax", "Power", "Scale"]))
        params = {
            "Convolution": f"convolution_param {{ num_output: {draw(st.integers(1, 4))} "
                           f"kernel_size: {draw(st.integers(1, 3))} stride: {draw(st.integers(1, 2))} "
                           f"pad: {draw(st.integers(0, 1))} }}",
            "Pooling": f"pooling_param {{ pool: {draw(st.sampled_from(['MAX', 'AVE']))} "
                       f"kernel_size: {draw(st.integers(1, 3))} stride: {draw(st.integers(1, 2))} }}",
            "InnerProduct": f"inner_product_param {{ num_output: {draw(st.integers(1, 5))} }}",
            "LRN": f"lrn_param {{ local_size: {draw(st.sampled_from([1, 3, 5]))} }}",
            "Power": f"power_param {{ power: 2 scale: {draw(st.sampled_from([0.5, 1, -1]))} shift: 0.5 }}",
            "Scale": "scale_param { bias_term: true }",
        }.get(kind, "")
        in_place = kind in ("ReLU", "Sigmoid", "TanH", "Dropout") and draw(st.booleans())
        top = blob if in_place else f"b{i}"
        lines.append(f'layer {{ name: "l{i}" type: "{kind}" bottom: "{blob}" top: "{top}" {params} }}\n')
        blob = top
    return "".join(lines)


def test_random_small_nets_convert_and_verify_or_are_refused(tmp_path_factory):
    from converter.caffe.synthetic import write_synthetic_weights

    folder = tmp_path_factory.mktemp("nets")

    @settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(small_nets(), st.booleans())
    def check(text: str, fuse: bool) -> None:
        proto = folder / "net.prototxt"
        proto.write_text(text)
        weights = folder / "net.caffemodel"
        weights.unlink(missing_ok=True)
        try:
            write_synthetic_weights(proto, weights)
            conversion = pipeline.convert(proto, weights, fuse=fuse)
        except ConverterError:
            return  # e.g. a kernel larger than its input: refused by name, never a crash
        pipeline.emit(conversion)
        report = pipeline.run_verification(conversion)
        assert report.passed and report.comparisons, text
        assert {c.backend for c in report.comparisons} == {"onnxruntime", "pytorch"}

    check()


ARGUMENTS = ["--no-verify", "--force", "--format", "onnx", "pytorch", "--opset", "12", "17", "--tolerance", "nan",
             "0", "--input-shape", "1,3,8,8", "2x3x9x9", "data=0", "--name", "../x", "m", "-o", "--no-fire",
             "--fold-batchnorm", "--compact", "--expect", "--verbose", "verify", "inspect", "--json", "--report",
             "-", "--backend", "opencv", "", "\x00"]


def test_the_command_line_exits_only_with_documented_codes(tiny, tmp_path_factory):
    from click.testing import CliRunner

    from cli import main

    proto, weights = tiny
    out = tmp_path_factory.mktemp("out")

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.sampled_from(ARGUMENTS) | st.sampled_from([str(out), str(weights)]), max_size=6),
           st.booleans())
    def check(extra: list[str], command_first: bool) -> None:
        args = [str(proto), "-w", str(weights), *extra]
        if command_first and extra and extra[0] in ("verify", "inspect"):
            args = [extra[0], str(proto), "-w", str(weights), *extra[1:]]
        done = CliRunner().invoke(main, args)
        assert done.exit_code in (0, 1, 2, 3), (args, done.exit_code, done.output, done.exception)

    check()


def test_an_argument_with_a_nul_byte_is_bad_input(tiny):
    # os.stat raises ValueError on a NUL byte (a path no file system holds): exit 2 naming the argument.
    from click.testing import CliRunner

    from cli import main

    proto, weights = tiny
    done = CliRunner().invoke(main, [str(proto), "-w", str(weights), "--expect", "\x00"])
    assert done.exit_code == 2 and "argument 5 contains a NUL byte" in done.output, done.output
