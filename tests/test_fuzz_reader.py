"""Property-based: whatever bytes arrive, the reader raises only the project's own errors."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, shared_path
from converter.caffe.caffemodel import read_caffemodel
from converter.caffe.loader import attach_weights, build_net
from converter.caffe.prototxt import parse_prototxt_text
from converter.errors import ConverterError

PROTOTXT = ROOT / "reference_models" / "squeezenet_v1.1" / "deploy.prototxt"
SEED_TEXT = PROTOTXT.read_text()
TOKENS = ["layer {", "}", "{", 'bottom: "', 'top: "conv1"', "dim: 0", "dim: -1", "dim: 99999999",
          "kernel_size: 0", "stride: 0", "pad: 9", "num_output: 0", 'type: "Nope"', "group: 7", '"', ":",
          "input_dim: 1", "pool: AVE", "global_pooling: true", "\x00", "é", "#", "\n",
          'top: "data"', 'input: "data"', "power_param { power: nan }", "scale: inf", "eps: -1",
          "local_size: 999999999", "\ufeff", "\u202e", 'bottom: ""', "dim: 2147483647"]

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    text = SEED_TEXT
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        token = draw(st.sampled_from(TOKENS) | st.text(max_size=6))
        if kind == "insert":
            text = text[:at] + token + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        else:
            text = text[:at] + token + text[at + len(token):]
    return text


@FUZZ
@given(mutated_text())
def test_mutated_prototxt_raises_only_converter_errors(text):
    with contextlib.suppress(ConverterError):
        build_net(parse_prototxt_text(text, "fuzz.prototxt"))


def _weights_source() -> Path:
    return shared_path("golden", "squeezenet_v1.1", "weights.caffemodel")


@st.composite
def mutated_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "zero"]))
        at = draw(st.integers(0, max(0, len(out) - 1)))
        if kind == "flip" and out:
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del out[at:]
        elif kind == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=12))
        elif out:
            out[at:at + 64] = bytes(len(out[at:at + 64]))
    return bytes(out)


def mutations_raise_only_converter_errors(valid: bytes, read: Callable[[Path], object], path: Path,
                                          fuzz: settings = FUZZ) -> None:
    """For mutated copies of `valid` (flips, cuts, insertions, zeroed runs), each written to `path`,
    `read(path)` returns or raises a ConverterError: any other exception fails the test."""

    @fuzz
    @given(mutated_bytes(valid))
    def check(data: bytes) -> None:
        path.write_bytes(data)
        with contextlib.suppress(ConverterError):
            read(path)

    check()


def caffemodel_reader(net_proto: object) -> Callable[[Path], object]:
    """Reads a caffemodel's weights into `net_proto`'s net, as conversion does."""
    return lambda path: attach_weights(build_net(net_proto), read_caffemodel(path), str(path))


def test_mutated_caffemodel_raises_only_converter_errors(tmp_path_factory):
    net_proto = parse_prototxt_text(PROTOTXT.read_text())
    # Cut to the head of the file so each example stays fast; the tail repeats the same structure.
    head = _weights_source().read_bytes()[:300_000]
    mutations_raise_only_converter_errors(
        head, caffemodel_reader(net_proto), tmp_path_factory.mktemp("fuzz") / "m.caffemodel")


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_as_caffemodel(tmp_path_factory, blob):
    path = tmp_path_factory.mktemp("r") / "r.caffemodel"
    path.write_bytes(blob)
    with contextlib.suppress(ConverterError):
        read_caffemodel(path)
