"""Issue 14, the write side: outputs are only ever regular files, inputs only ever regular files,
a set of outputs replaces the old set whole or not at all (and takes the old set's stale companions
with it), two runs into one folder never both succeed silently, and leftovers of killed runs are
swept."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from conftest import ROOT
from converter import fileio, pipeline
from converter.errors import ConverterError, OutputError


def cli(*args: object) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


def cli_within(seconds: float, *args: object) -> object:
    """The CLI run on a thread: a run that blocks (on a FIFO) fails the test instead of hanging it."""
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(cli(*args)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert result, f"squeeze-convert {' '.join(map(str, args))} still running after {seconds} s"
    return result[0]


def _special(kind: str, path: Path) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.close()  # the socket file stays
    elif kind == "directory":
        path.mkdir()
    elif kind == "link to /dev/null":
        path.symlink_to("/dev/null")
    elif kind == "character device":
        if os.geteuid() == 0:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a second /dev/null
        else:  # only root makes device nodes; a link to one is the same thing at the path
            path.symlink_to("/dev/zero")


def _kind_of(path: Path) -> int:
    return stat.S_IFMT(os.lstat(path).st_mode)


SPECIAL = ["fifo", "socket", "directory", "link to /dev/null", "character device"]


@pytest.mark.parametrize("kind", SPECIAL)
def test_an_output_path_that_is_not_a_regular_file_is_never_replaced(tiny, tmp_path, kind):
    proto, weights = tiny
    out = tmp_path / "out"
    out.mkdir()
    targets = {"verify": out / "report.json", "make-weights": out / "w.caffemodel", "convert": out / "tiny.onnx"}
    for target in targets.values():
        _special(kind, target)
    before = {t: _kind_of(t) for t in targets.values()}
    runs = {
        "verify": ("verify", proto, "-w", weights, "--report", targets["verify"], "--force", "--backend", "pytorch"),
        "make-weights": ("make-weights", proto, "--output", targets["make-weights"], "--force"),
        "convert": (proto, "-w", weights, "-o", out, "--format", "onnx", "--no-verify", "--force"),
    }
    for command, args in runs.items():
        done = cli_within(20, *args)
        assert done.exit_code == 3, (command, done.output)
        assert "not a regular file" in done.output, (command, done.output)
    assert {t: _kind_of(t) for t in targets.values()} == before
    assert sorted(p.name for p in out.iterdir()) == sorted(t.name for t in targets.values())


def test_library_writes_refuse_special_files_too(tmp_path):
    target = tmp_path / "x.json"
    os.mkfifo(target)
    with pytest.raises(OutputError, match="a FIFO, not a regular file"):
        fileio.write_bytes_atomic(target, b"{}")
    assert stat.S_ISFIFO(os.lstat(target).st_mode)


@pytest.mark.parametrize("role", ["prototxt", "weights", "expect"])
def test_an_input_that_is_a_fifo_is_refused_without_blocking(tiny, tmp_path, role):
    proto, weights = tiny
    fifo = tmp_path / f"in.{role}"
    os.mkfifo(fifo)
    args = {"prototxt": (fifo, "-w", weights), "weights": (proto, "-w", fifo),
            "expect": (proto, "-w", weights, "--expect", fifo)}[role]
    done = cli_within(20, "verify", *args)
    assert done.exit_code == 2, done.output
    assert f"{fifo} is a FIFO, not a regular file" in done.output


@pytest.mark.parametrize("role", ["prototxt", "expect"])
def test_dev_zero_as_an_input_is_refused_not_read_forever(tiny, role):
    proto, weights = tiny
    args = (Path("/dev/zero"), "-w", weights) if role == "prototxt" else (proto, "-w", weights, "--expect", "/dev/zero")
    done = cli_within(20, "verify", *args)
    assert done.exit_code == 2, done.output
    assert "/dev/zero is a character device, not a regular file" in done.output


def test_library_refuses_inputs_that_are_not_regular_files(tmp_path):
    fifo = tmp_path / "net.prototxt"
    os.mkfifo(fifo)
    raised: list[BaseException] = []

    def convert() -> None:
        try:
            pipeline.convert(fifo)
        except BaseException as error:  # noqa: BLE001 - handed to the test's thread
            raised.append(error)

    thread = threading.Thread(target=convert, daemon=True)
    thread.start()
    thread.join(20)
    assert raised, "pipeline.convert still reading the FIFO after 20 s"
    assert isinstance(raised[0], ConverterError) and "not a regular file" in str(raised[0]), raised


def _first_run(proto: Path, weights: Path, out: Path) -> dict[str, bytes]:
    done = cli(proto, "-w", weights, "-o", out)
    assert done.exit_code == 0, done.output
    return {p.name: p.read_bytes() for p in out.iterdir()}


def _other_weights(proto: Path, folder: Path) -> Path:
    from converter.caffe.synthetic import write_synthetic_weights

    other = folder / "other.caffemodel"
    write_synthetic_weights(proto, other, seed=1)
    return other


def _contents(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}


def test_a_target_that_cannot_be_replaced_is_found_before_the_first_rename(tiny, tmp_path):
    """A folder named like the report: before, the models were replaced and then the report failed."""
    proto, weights = tiny
    out = tmp_path / "out"
    old = _first_run(proto, weights, out)
    (out / "tiny.report.json").unlink()
    (out / "tiny.report.json").mkdir()
    del old["tiny.report.json"]
    done = cli(proto, "-w", _other_weights(proto, tmp_path), "-o", out, "--force")
    assert done.exit_code == 3, done.output
    assert "tiny.report.json is a directory" in done.output
    assert _contents(out) == old


def test_a_rename_failing_midway_puts_the_old_files_back(tiny, tmp_path, monkeypatch):
    proto, weights = tiny
    out = tmp_path / "out"
    old = _first_run(proto, weights, out)
    real_replace = os.replace

    def replace(src: object, dst: object) -> None:
        if str(dst).endswith("tiny.py"):  # as an immutable file refuses it
            raise PermissionError(1, "Operation not permitted", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(fileio.os, "replace", replace)
    done = cli(proto, "-w", _other_weights(proto, tmp_path), "-o", out, "--force")
    assert done.exit_code == 3, done.output
    assert "tiny.py" in done.output
    assert _contents(out) == old  # the new .onnx and .pth went back to the old ones
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def test_force_without_verification_removes_the_old_report(tiny, tmp_path):
    proto, weights = tiny
    out = tmp_path / "out"
    _first_run(proto, weights, out)
    done = cli(proto, "-w", weights, "-o", out, "--no-verify", "--force")
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in out.iterdir()) == ["tiny.onnx", "tiny.pth", "tiny.py"]


def test_a_smaller_reconversion_removes_the_stale_external_data(tiny, tmp_path, monkeypatch):
    from converter.emit.onnx import model as onnx_model

    proto, weights = tiny
    conversion = pipeline.convert(proto, weights)
    pipeline.emit(conversion, formats=("onnx",))
    monkeypatch.setattr(onnx_model, "EXTERNAL_DATA_THRESHOLD", 1)
    pipeline.save(conversion, tmp_path, "tiny")
    assert (tmp_path / "tiny.onnx.data").exists()
    monkeypatch.undo()
    with pytest.raises(OutputError, match="exists"):  # without force nothing is touched
        pipeline.save(conversion, tmp_path, "tiny")
    pipeline.save(conversion, tmp_path, "tiny", force=True)
    assert sorted(p.name for p in tmp_path.glob("tiny.onnx*")) == ["tiny.onnx"]
    import onnx

    onnx.checker.check_model(onnx.load(tmp_path / "tiny.onnx"))


def test_after_a_mismatch_the_old_models_go_and_the_report_names_its_sources(tiny, tmp_path):
    proto, weights = tiny
    out = tmp_path / "out"
    _first_run(proto, weights, out)
    recorded = tmp_path / "blobs.npz"
    rng = np.random.default_rng(0)
    np.savez(recorded, **{"input|data": rng.uniform(-1, 1, (1, 3, 8, 8)).astype(np.float32),
                          "layer|c2|c2": np.full((1, 2, 6, 6), 1e3, np.float32)})
    done = cli(proto, "-w", weights, "-o", out, "--expect", recorded, "--force")
    assert done.exit_code == 1, done.output
    assert sorted(p.name for p in out.iterdir()) == ["tiny.report.json"]
    report = json.loads((out / "tiny.report.json").read_text())
    assert report["passed"] is False
    import hashlib

    assert report["sources"] == [{"path": str(p), "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
                                 for p in (proto, weights, recorded)]


def test_a_file_another_run_created_meanwhile_is_never_replaced_without_force(tmp_path):
    """Two runs into one folder: each checked that nothing was there, the later commit must fail."""
    first, second = tmp_path / "m.onnx", tmp_path / "m.pth"
    with pytest.raises(OutputError, match="another run"), fileio.all_or_nothing(force=False):
        fileio.write_bytes_atomic(first, b"mine")
        fileio.write_bytes_atomic(second, b"mine")
        second.write_bytes(b"theirs")  # the other run commits first
    assert not first.exists()  # ours went back out again: no mixed set
    assert second.read_bytes() == b"theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pth"]


def _partial(folder: Path, name: str, pid: int, age: float) -> Path:
    path = folder / f".{name}.{fileio.TEMP_TAG}{pid}-abc123{fileio.TEMP_SUFFIX}"
    path.write_bytes(b"x" * 100)
    os.utime(path, (time.time() - age, time.time() - age))
    return path


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_leftovers_of_a_killed_run_are_swept_by_the_next_run_into_the_folder(tiny, tmp_path):
    proto, weights = tiny
    out = tmp_path / "out"
    out.mkdir()
    # A run killed with SIGKILL in the middle of writing: its temporary file stays.
    writer = subprocess.Popen(
        [sys.executable, "-c", "import time; from pathlib import Path; from converter.fileio import atomic_output\n"
         f"with atomic_output(Path({str(out / 'tiny.onnx')!r})) as f:\n"
         "    f.write(b'x' * 1000); f.flush(); print('writing', flush=True); time.sleep(60)"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline() == "writing\n"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    (killed,) = out.glob(".tiny.onnx.*.partial")
    old = time.time() - fileio.STALE_AFTER_SECONDS - 1
    os.utime(killed, (old, old))
    dead = _dead_pid()
    stale = _partial(out, "tiny.pth", dead, fileio.STALE_AFTER_SECONDS + 10)
    fresh = _partial(out, "tiny.py", dead, 1)  # maybe a writer in another pid namespace: too young
    alive = _partial(out, "x.onnx", os.getppid(), fileio.STALE_AFTER_SECONDS + 10)
    foreign = out / ".someone.else.partial"
    foreign.write_text("not ours")
    os.utime(foreign, (old, old))
    done = cli(proto, "-w", weights, "-o", out, "--no-verify", "--format", "onnx")
    assert done.exit_code == 0, done.output
    assert not killed.exists() and not stale.exists()
    assert fresh.exists() and alive.exists() and foreign.exists()
