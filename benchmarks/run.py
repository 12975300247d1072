"""Speed and memory of squeeze-convert on a VGG-16-sized caffemodel, measured in one run.

    python benchmarks/run.py [--workdir DIR] [--keep]

Generates VGG-16 (138M parameters, ~553 MB) with the project's own caffemodel writer, then times
each step in a fresh process and reads that process's peak RSS (os.wait4), next to copying the
same file with `cp` and a plain protobuf parse of it. The page cache is warmed first so every
step reads the file from memory. Prints the figures and the ratios the targets are stated in.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def measure(argv: list[str], cwd: Path | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{process.stderr.read().decode() if process.stderr else ''}")
    return elapsed, usage.ru_maxrss * 1024


def best_of(n: int, argv: list[str], cwd: Path | None = None) -> tuple[float, int]:
    runs = [measure(argv, cwd) for _ in range(n)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="where to put the generated files (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="squeeze-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    cli = [python, str(ROOT / "cli.py")]
    try:
        import vgg16

        prototxt = work / "vgg16.prototxt"
        prototxt.write_text(vgg16.prototxt())
        caffemodel = work / "vgg16.caffemodel"
        if not caffemodel.exists():
            t, _ = measure([*cli, "make-weights", str(prototxt), "-o", str(caffemodel), "--force"])
            print(f"generated {caffemodel.name}: {caffemodel.stat().st_size / 1e6:.0f} MB in {t:.1f} s")
        size = caffemodel.stat().st_size
        caffemodel.read_bytes()  # warm the page cache

        rows: list[tuple[str, float, int]] = []
        rows.append(("cp", *best_of(3, ["cp", str(caffemodel), str(work / "copy.caffemodel")])))
        parse = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from converter.caffe import caffe_pb2; "
                 f"m = caffe_pb2.NetParameter(); m.ParseFromString(open({str(caffemodel)!r}, 'rb').read())")
        rows.append(("protobuf parse", *best_of(2, [python, "-c", parse])))
        out = work / "out"
        rows.append(("convert -> ONNX", *best_of(2, [*cli, str(prototxt), "-w", str(caffemodel), "--format", "onnx",
                                                     "--no-verify", "-o", str(out), "--force"])))
        rows.append(("convert -> PyTorch", *best_of(2, [*cli, str(prototxt), "-w", str(caffemodel), "--format",
                                                        "pytorch", "--no-verify", "-o", str(out), "--force"])))
        bare, _ = best_of(7, [python, "-c", "pass"])
        helps, _ = best_of(7, [*cli, "--help"])

        verify_code = (  # noqa: UP031 - a program text with slots
            "import sys, time; sys.path.insert(0, %r)\n"
            "import onnxruntime, torch\n"
            "from converter import pipeline\n"
            "t = time.perf_counter()\n"
            "c = pipeline.convert(%r, %r)\n"
            "r = pipeline.run_verification(c)\n"
            "assert r.passed\n"
            "verify = time.perf_counter() - t\n"
            "import numpy as np\n"
            "from converter.caffe.reference import run_reference\n"
            "x = {n: np.random.default_rng(0).uniform(-1, 1, s).astype(np.float32) for n, s in c.net.inputs.items()}\n"
            "forwards = []\n"
            "for _ in range(4):\n"
            "    t = time.perf_counter()\n"
            "    run_reference(c.net, x)\n"
            "    forwards.append(time.perf_counter() - t)\n"
            "print(verify, len(r.comparisons), min(forwards[1:]))\n")
        squeeze = ROOT / "reference_models" / "squeezenet_v1.1" / "deploy.prototxt"
        squeeze_weights = work / "squeezenet_v1.1.caffemodel"
        measure([*cli, "make-weights", str(squeeze), "-o", str(squeeze_weights), "--force"])
        done = subprocess.run([python, "-c", verify_code % (str(ROOT), str(squeeze), str(squeeze_weights))],
                              capture_output=True, text=True, check=True)
        verify_seconds, comparisons, forward_seconds = done.stdout.split()

        cp_time = rows[0][1]
        print(f"\ncaffemodel: {size / 1e6:.0f} MB (VGG-16, 138,357,544 parameters)\n")
        print(f"{'step':<20} {'wall s':>8} {'peak RSS MB':>12} {'x cp time':>10} {'RSS / file':>11}")
        for name, seconds, rss in rows:
            print(f"{name:<20} {seconds:>8.2f} {rss / 1e6:>12.0f} {seconds / cp_time:>10.2f} {rss / size:>11.2f}")
        print(f"\n--help: {helps * 1e3:.0f} ms vs bare python {bare * 1e3:.0f} ms -> {helps / bare:.2f}x")
        print(f"verify SqueezeNet v1.1 (reference + onnxruntime + pytorch, {comparisons} comparisons) after "
              f"start-up: {float(verify_seconds):.2f} s")
        print(f"reference executor (numpy) forward of SqueezeNet v1.1, 1x3x227x227: {float(forward_seconds):.2f} s")
        onnx_row, torch_row = rows[2], rows[3]
        print(f"\ntargets: ONNX <= 4x cp: {onnx_row[1] / cp_time:.2f}x; peak RSS <= 2x file: "
              f"ONNX {onnx_row[2] / size:.2f}x, PyTorch {torch_row[2] / size:.2f}x; --help <= 3x: "
              f"{helps / bare:.2f}x; verify < 2 s: {float(verify_seconds):.2f} s")
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
