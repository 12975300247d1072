"""Issue 6, the output side: whatever paths a stranger (or a slip) gives, no input is ever replaced,
outputs appear whole or not at all, with the permissions a normal file would get, and every
failure is a clear error with its documented exit code."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from conftest import TINY_NET
from converter import pipeline
from converter.caffe.synthetic import write_synthetic_weights
from converter.errors import OutputError


def cli(*args: object) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


def digest(*paths: Path) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def test_verify_report_never_replaces_an_input(tiny):
    proto, weights = tiny
    before = digest(proto, weights)
    for target in (proto, weights):
        done = cli("verify", proto, "-w", weights, "--report", target, "--force", "--backend", "pytorch")
        assert done.exit_code == 3, done.output
        assert "is one of the inputs" in done.output
    assert digest(proto, weights) == before


def test_verify_report_kept_unless_force(tiny, tmp_path):
    proto, weights = tiny
    report = tmp_path / "report.json"
    report.write_text("mine")
    done = cli("verify", proto, "-w", weights, "--report", report, "--backend", "pytorch")
    assert done.exit_code == 3 and "--force" in done.output
    assert report.read_text() == "mine"
    done = cli("verify", proto, "-w", weights, "--report", report, "--backend", "pytorch", "--force")
    assert done.exit_code == 0, done.output
    assert report.read_text().startswith("{")


def test_recorded_blobs_are_an_input_too(tiny, tmp_path):
    import numpy as np

    proto, weights = tiny
    recorded = tmp_path / "out" / "tiny.report.json"  # an .npz under the name the report would take
    recorded.parent.mkdir()
    with recorded.open("wb") as f:
        np.savez(f, **{"input|data": np.zeros((1, 3, 8, 8), np.float32)})
    before = digest(recorded)
    done = cli(proto, "-w", weights, "--expect", recorded, "-o", recorded.parent, "--force")
    assert done.exit_code == 3, done.output
    assert "is one of the inputs" in done.output
    done = cli("verify", proto, "-w", weights, "--expect", recorded, "--report", recorded, "--force")
    assert done.exit_code == 3, done.output
    assert digest(recorded) == before


def test_a_hard_link_to_an_input_is_an_input(tiny, tmp_path):
    proto, weights = tiny
    os.link(weights, tmp_path / "tiny.onnx")
    done = cli(proto, "-w", weights, "--no-verify", "--format", "onnx", "--force")
    assert done.exit_code == 3 and "is one of the inputs" in done.output


@pytest.mark.parametrize("name", ["../escaped", "/tmp/absolute", "sub/dir", "..", ".", "", "tab\there"])
def test_name_is_a_plain_stem(tiny, tmp_path, name):
    proto, weights = tiny
    out = tmp_path / "out"
    done = cli(proto, "-w", weights, "--no-verify", "--format", "onnx", "-o", out, "--name", name)
    assert done.exit_code == 2, done.output
    assert "--name" in done.output
    assert not out.exists() and not (tmp_path / "escaped.onnx").exists()


@pytest.mark.parametrize("tolerance", ["nan", "inf", "-1"])
def test_tolerance_must_be_a_finite_non_negative_number(tiny, tolerance):
    proto, weights = tiny
    done = cli("verify", proto, "-w", weights, "--tolerance", tolerance)
    assert done.exit_code == 2 and "--tolerance" in done.output


@pytest.mark.parametrize("mask", [0o077, 0o022, 0o002])
def test_outputs_respect_the_umask(tiny, tmp_path, mask):
    proto, weights = tiny
    old = os.umask(mask)
    try:
        done = cli(proto, "-w", weights, "--no-verify", "-o", tmp_path / "out")
        made = tmp_path / "made.caffemodel"
        made_done = cli("make-weights", proto, "-o", made)
    finally:
        os.umask(old)
    assert done.exit_code == 0 and made_done.exit_code == 0, done.output + made_done.output
    for path in [*(tmp_path / "out").iterdir(), made]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask, path


class _FullDisk:
    """A file whose writes fail with ENOSPC once `room` bytes are written."""

    def __init__(self, f: object, room: int) -> None:
        self._f, self.room = f, room

    def write(self, data: object) -> int:
        size = memoryview(data).nbytes  # type: ignore[arg-type]
        if size > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= size
        return self._f.write(data)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._f, name)

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()  # type: ignore[attr-defined]


def _full_disk_after(monkeypatch: pytest.MonkeyPatch, room: int, names: tuple[str, ...]) -> None:
    """Writes to temporary files of the given output names fail after `room` bytes."""
    import converter.fileio as fileio

    assert Path("/proc/self/fd").is_dir(), "the test needs /proc to tell the temporary files apart"
    real = fileio.os.fdopen

    def fdopen(fd: int, mode: str) -> object:
        f = real(fd, mode)
        target = os.readlink(f"/proc/self/fd/{fd}")
        return _FullDisk(f, room) if any(f"/.{n}." in target for n in names) else f

    monkeypatch.setattr(fileio.os, "fdopen", fdopen)


@pytest.mark.parametrize("full", ["tiny.onnx", "tiny.pth", "tiny.py"])
def test_full_disk_is_an_output_error_and_leaves_nothing(tiny, tmp_path, monkeypatch, full):
    proto, weights = tiny
    out = tmp_path / "out"
    out.mkdir()
    _full_disk_after(monkeypatch, 100, (full,))
    conversion = pipeline.convert(proto, weights)
    pipeline.emit(conversion)
    # torch.save turns the failed write into its own RuntimeError; the cause must still show.
    with pytest.raises(OutputError, match=rf"cannot write .*{full}: No space left on device"):
        pipeline.save(conversion, out, "tiny", report_json={"passed": True})
    assert list(out.iterdir()) == []  # not even the files that were complete


def test_full_disk_through_the_cli_exits_3(tiny, tmp_path, monkeypatch):
    proto, weights = tiny
    _full_disk_after(monkeypatch, 0, ("tiny.report.json",))
    done = cli(proto, "-w", weights, "-o", tmp_path / "out")
    assert done.exit_code == 3, done.output
    assert "No space left on device" in done.output
    assert list((tmp_path / "out").iterdir()) == []


def test_interrupt_exits_130_and_writes_nothing(tiny, tmp_path, monkeypatch):
    proto, weights = tiny
    from converter.emit import torch as torch_emit

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(torch_emit, "save_torch", interrupted)
    done = cli(proto, "-w", weights, "--no-verify", "-o", tmp_path / "out")
    assert done.exit_code == 130, done.output
    assert "interrupted" in done.output
    assert list((tmp_path / "out").iterdir()) == []  # the ONNX file, complete by then, went too


def test_a_refused_conversion_leaves_no_new_folder(tiny, tmp_path):
    proto, weights = tiny
    out = tmp_path / "new" / "deeper"
    done = cli(proto, "-w", weights, "--no-verify", "-o", out, "--compact")  # refused: not a .net
    assert done.exit_code == 2
    assert not (tmp_path / "new").exists()
    done = cli(proto, "-w", weights, "--no-verify", "-o", out)
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in out.iterdir()) == ["tiny.onnx", "tiny.pth", "tiny.py"]


def test_compact_output_is_checked_before_anything_is_written(tiny, tmp_path):
    proto, weights = tiny
    out = tmp_path / "out"
    done = cli(proto, "-w", weights, "--no-verify", "-o", out, "--compact")
    assert done.exit_code == 2 and "--compact keeps the stored form" in done.output
    assert not out.exists() or list(out.iterdir()) == []


def test_classify_needs_one_image_input(tmp_path):
    proto = tmp_path / "two.prototxt"
    proto.write_text('input: "a"\ninput_shape { dim: 1 dim: 3 dim: 4 dim: 4 }\n'
                     'input: "b"\ninput_shape { dim: 1 dim: 3 dim: 4 dim: 4 }\n'
                     'layer { name: "e" type: "Eltwise" bottom: "a" bottom: "b" top: "e" }\n')
    weights = tmp_path / "two.caffemodel"
    write_synthetic_weights(proto, weights)
    image = tmp_path / "x.png"
    image.write_bytes(b"not looked at")
    done = cli("classify", proto, image, "-w", weights)
    assert done.exit_code == 2, done.output
    assert "one N,3,H,W image input" in done.output


def test_labels_in_another_encoding_still_classify(tmp_path):
    from converter.demo import class_names

    labels = tmp_path / "labels.txt"
    labels.write_bytes(b"n0 caf\xe9\nn1 tench\n")
    assert class_names(labels) == ["caf\ufffd", "tench"]


def test_an_image_declaring_a_huge_size_is_refused_before_decoding(tmp_path):
    import subprocess
    import sys
    import zlib

    # A valid PNG header for a 30000 x 30000 RGB image (2.7 GB decoded) in a few bytes.
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = (30000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    image = tmp_path / "bomb.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 100))
                      + chunk(b"IEND", b""))
    script = ("import sys; from converter.demo import load_image; from converter.errors import ConverterError\n"
              "try:\n    load_image(sys.argv[1], (4, 4))\nexcept ConverterError as e:\n    print(e)\n")
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_IO_MAX_IMAGE_PIXELS"}
    done = subprocess.run([sys.executable, "-c", script, str(image)], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parents[1])
    assert "image too large" in done.stdout, done.stdout + done.stderr


@pytest.fixture
def read_only(tmp_path):
    """A folder of mode r-xr-xr-x holding the tiny net's files (made writable again afterwards)."""
    folder = tmp_path / "shared"
    folder.mkdir()
    proto = folder / "tiny.prototxt"
    proto.write_text(TINY_NET)
    write_synthetic_weights(proto, folder / "tiny.caffemodel")
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


def test_a_read_only_folder_is_refused_even_for_root(read_only):
    """os.access lets root write anywhere; a folder without any write bit is refused all the same."""
    from converter.fileio import check_outputs

    for target in (read_only / "x.onnx", read_only / "new" / "x.onnx"):
        with pytest.raises(OutputError, match=r"the folder is read-only \(dr-xr-xr-x\); write elsewhere with "
                                              r"--out-dir \(-o\)"):
            check_outputs([target], [], force=False)


def test_convert_beside_a_prototxt_in_a_read_only_folder_exits_3(read_only):
    before = sorted(p.name for p in read_only.iterdir())
    done = cli(read_only / "tiny.prototxt")
    assert done.exit_code == 3, done.output
    assert f"cannot write in {read_only}: the folder is read-only" in done.output and "--out-dir" in done.output
    done = cli("make-weights", read_only / "tiny.prototxt", "--force")
    assert done.exit_code == 3, done.output
    assert "the folder is read-only" in done.output
    assert sorted(p.name for p in read_only.iterdir()) == before


def test_a_read_only_folder_is_fine_as_input_with_out_dir(read_only, tmp_path):
    done = cli(read_only / "tiny.prototxt", "-o", tmp_path / "out")
    assert done.exit_code == 0, done.output
    assert (tmp_path / "out" / "tiny.onnx").exists()
