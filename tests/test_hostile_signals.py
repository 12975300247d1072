"""Issue 14, signals and faults: SIGTERM unwinds like Ctrl-C, an interruption inside torch.save is
still an interruption, and a weights file truncated during the run is named, not a bus error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from cli import main
from conftest import ROOT

# Runs the CLI with `converter.caffe.synthetic.write_caffemodel` (make-weights' writer) paused
# inside its temporary file until a signal arrives.
PAUSED_WRITER = """
import sys, time
from converter.caffe import synthetic
real = synthetic.write_caffemodel

def paused(path, net, weights):
    from converter.fileio import atomic_output
    with atomic_output(path) as f:
        f.write(b"partial")
        f.flush()
        print("writing", flush=True)
        time.sleep(60)

synthetic.write_caffemodel = paused
from cli import main
main(sys.argv[1:], prog_name="squeeze-convert")
"""


def _run_paused(args: list[str]) -> subprocess.Popen:
    run = subprocess.Popen([sys.executable, "-c", PAUSED_WRITER, *args], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert run.stdout.readline() == "writing\n", run.stderr.read()
    return run


def test_sigterm_exits_143_and_leaves_nothing(tiny, tmp_path):
    proto, _ = tiny
    out = tmp_path / "out"
    run = _run_paused(["make-weights", str(proto), "-o", str(out)])
    assert [p.name for p in out.iterdir()][0].endswith(".partial")
    run.send_signal(signal.SIGTERM)
    assert run.wait(30) == 143, run.stderr.read()
    assert "terminated: no output was written" in run.stderr.read()
    assert list(out.iterdir()) == []


def test_an_interrupt_that_torch_save_wraps_is_still_an_interrupt(tiny, tmp_path, monkeypatch):
    """torch.save turns a KeyboardInterrupt raised in its write callback into a RuntimeError. The
    converter writes its .pth itself now, so the write below wraps the interruption as torch.save's
    C++ stream writer did: without the wrapping the test would not reach the handling it checks."""
    from converter import fileio

    proto, weights = tiny
    real_write = fileio._WriteWatch.write
    writes = []

    def write(self: object, data: object) -> int:
        writes.append(1)
        if len(writes) == 4:
            try:
                os.kill(os.getpid(), signal.SIGINT)
            except KeyboardInterrupt as interrupt:
                raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed") from interrupt
        return real_write(self, data)

    monkeypatch.setattr(fileio._WriteWatch, "write", write)
    out = tmp_path / "out"
    done = CliRunner().invoke(main, [str(proto), "-w", str(weights), "-o", str(out), "--no-verify",
                                     "--format", "pytorch"])
    assert done.exit_code == 130, done.output
    assert "interrupted: no output was written" in done.output
    assert list(out.iterdir()) == []


TRUNCATING_RUN = """
import os, sys
from converter.caffe import weights
real = weights.attach_weights

def attach_after_truncation(net, raw, origin):
    os.truncate(origin, 100)  # as another process truncating the file while it is mapped
    real(net, raw, origin)

weights.attach_weights = attach_after_truncation
import converter.caffe.loader
converter.caffe.loader.attach_weights = attach_after_truncation
from cli import main
main(sys.argv[1:], prog_name="squeeze-convert")
"""


def test_weights_truncated_during_the_run_are_named_not_a_bus_error(tmp_path):
    proto = tmp_path / "net.prototxt"
    proto.write_text('input: "data"\ninput_shape { dim: 1 dim: 64 dim: 4 dim: 4 }\n'
                     'layer { name: "c" type: "Convolution" bottom: "data" top: "c" '
                     "convolution_param { num_output: 256 kernel_size: 3 } }\n")
    weights = tmp_path / "net.caffemodel"
    assert CliRunner().invoke(main, ["make-weights", str(proto)]).exit_code == 0
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", TRUNCATING_RUN, str(proto), "-w", str(weights), "-o", str(out),
                           "--no-verify", "--format", "onnx"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert f"error: {weights}: changed while squeeze-convert was reading it" in done.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_outputs_of_an_interrupted_run_are_named_with_the_writers_pid(tmp_path):
    """What lets a later run tell a killed run's leftovers from a running one's files."""
    from converter.fileio import TEMP_SUFFIX, TEMP_TAG, atomic_output

    target = tmp_path / "x.onnx"
    with atomic_output(target) as f:
        f.write(b"x")
        (partial,) = tmp_path.iterdir()
    assert partial.name.startswith(f".x.onnx.{TEMP_TAG}{os.getpid()}-") and partial.name.endswith(TEMP_SUFFIX)
    assert [p.name for p in Path(tmp_path).iterdir()] == ["x.onnx"]
