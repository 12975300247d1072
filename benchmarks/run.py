"""Speed and memory of squeeze-convert on a VGG-16-sized caffemodel, measured in one run.

    python benchmarks/run.py [--workdir DIR] [--keep] [--rounds N] [--quiet-wait SECONDS]

Generates VGG-16 (138M parameters, ~553 MB) with the project's own caffemodel writer, then runs each
step as a fresh process under `peak_rss.py`, which reads that process's own wall time and peak RSS:
copying the same file with `cp`, a plain protobuf parse of it (`ParseFromString`), conversion to
ONNX and to PyTorch, and to both with and without verification. The page cache is warmed first (by
chunked reads, which keep this process small), so every step reads the file from memory, and what
earlier steps wrote is flushed (an untimed `sync`) before each, so none is held up by another's
writeback. `cp` and the conversions write new files (their previous outputs are deleted, untimed,
before each run); the "over existing" rows repeat `cp` and the ONNX conversion onto the files the
previous run left, which adds the file system's cost of dropping a 553 MB file to both.

The steps run in interleaved rounds, each run started once the CPUs are idle (waiting up to
--quiet-wait seconds): the machine may be shared, and the conversion uses two cores (the
source's sha256 for the metadata is computed beside the writing), so other work slows it more
than `cp`. Each step's figure is its best time and its highest peak over the rounds; the load
average is printed with them. Python steps may cache their bytecode, as on a user's machine
(PYTHONDONTWRITEBYTECODE is dropped from their environment), and each step runs once untimed
first. Prints the figures, the ratios the targets are stated in, and a final line of targets
met/missed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

VGG16_PARAMETERS = 138_357_544
TARGET_ONNX_X_CP = 4.0
TARGET_RSS_X_FILE = 2.0
TARGET_HELP_X_BARE = 3.0
TARGET_VERIFY_SECONDS = 2.0
TARGET_VERIFY_X_CONVERT = 3.0  # VGG-16 conversion with verification, against the same without it
STEP_ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


@dataclass
class Step:
    name: str
    argv: list[str]
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)  # user + system
    maxrss: int = 0  # bytes, ru_maxrss of the process itself (see peak_rss.py)
    hwm: int = 0  # bytes, VmHWM sampled while it ran
    floor: int = 0  # bytes, the measuring wrapper's own size when it started the step
    fresh: list[Path] = field(default_factory=list)  # deleted (untimed) before each run

    def run(self) -> None:
        for path in self.fresh:
            path.unlink(missing_ok=True)
        os.sync()  # no step is slowed by writing back what the one before it wrote
        done = subprocess.run([sys.executable, "-S", "-I", str(ROOT / "benchmarks" / "peak_rss.py"), *self.argv],
                              capture_output=True, text=True, env=STEP_ENV)
        if done.returncode != 0 or not done.stdout.strip():
            raise SystemExit(f"failed to measure {self.name}: {done.stderr}")
        figures = json.loads(done.stdout.splitlines()[-1])
        if figures["exit"] != 0:
            raise SystemExit(f"failed: {' '.join(self.argv)} (exit {figures['exit']})\n{done.stderr}")
        self.seconds.append(figures["seconds"])
        self.cpu_seconds.append(figures["cpu_seconds"])
        self.maxrss = max(self.maxrss, figures["maxrss_bytes"])
        self.hwm = max(self.hwm, figures["hwm_bytes"])
        self.floor = max(self.floor, figures["floor_bytes"])

    @property
    def best(self) -> float:
        return min(self.seconds)


def warm_page_cache(path: Path) -> None:
    """Read the file once in 16 MB chunks (not read_bytes(), which would grow this process)."""
    chunk = bytearray(1 << 24)
    with path.open("rb", buffering=0) as f:
        while f.readinto(chunk):
            pass


def _cpu_idle_fraction(seconds: float) -> float:
    def idle_and_total() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            ticks = [int(t) for t in stat.readline().split()[1:]]
        return ticks[3] + ticks[4], sum(ticks)  # idle + iowait, all

    idle, total = idle_and_total()
    time.sleep(seconds)
    idle_after, total_after = idle_and_total()
    return (idle_after - idle) / max(1, total_after - total)


def wait_for_quiet(limit: float) -> bool:
    """Wait (up to `limit` seconds) until the CPUs sit idle for half a second: the machine may be
    shared, and the conversion uses two cores. Whether it was quiet, or False without /proc/stat."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if _cpu_idle_fraction(0.5) >= 0.9:
                return True
        except OSError:
            return False
    return False


def rounds_of(steps: list[Step], rounds: int, quiet_wait: float) -> int:
    """Runs the steps `rounds` times, interleaved; how many runs started on a quiet machine."""
    quiet = 0
    for _ in range(rounds):
        for step in steps:
            quiet += quiet_wait > 0 and wait_for_quiet(quiet_wait)
            step.run()
    return quiet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="where to put the generated files (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the VGG-16 steps (default: 5)")
    parser.add_argument("--quiet-wait", type=float, default=20.0,
                        help="seconds to wait, before each run of a VGG-16 step, for the CPUs to be idle "
                             "(default: 20; 0: no wait)")
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
            generate = Step("make-weights", [*cli, "make-weights", str(prototxt), "-o", str(caffemodel), "--force"])
            generate.run()
            print(f"generated {caffemodel.name}: {caffemodel.stat().st_size / 1e6:.0f} MB in {generate.best:.1f} s")
        size = caffemodel.stat().st_size
        warm_page_cache(caffemodel)
        load_before = os.getloadavg()[0]

        out = work / "out"
        out.mkdir(exist_ok=True)
        parse = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from converter.caffe import caffe_pb2; "
                 f"m = caffe_pb2.NetParameter(); m.ParseFromString(open({str(caffemodel)!r}, 'rb').read())")
        convert = [*cli, str(prototxt), "-w", str(caffemodel), "--no-verify", "-o", str(out), "--force", "--format"]
        copy = work / "copy.caffemodel"
        cp = Step("cp", ["cp", str(caffemodel), str(copy)], fresh=[copy])
        protobuf = Step("protobuf parse", [python, "-c", parse])
        to_onnx = Step("convert -> ONNX", [*convert, "onnx"], fresh=[out / "vgg16.onnx"])
        to_torch = Step("convert -> PyTorch", [*convert, "pytorch"], fresh=[out / "vgg16.pth", out / "vgg16.py"])
        cp_over = Step("cp over existing", cp.argv)
        onnx_over = Step("ONNX over existing", to_onnx.argv)
        both = [*cli, str(prototxt), "-w", str(caffemodel), "-o", str(out), "--force"]
        both_outputs = [out / f"vgg16.{suffix}" for suffix in ("onnx", "pth", "py", "report.json")]
        unverified = Step("convert, no verify", [*both, "--no-verify"], fresh=both_outputs)
        verified = Step("convert + verify", both, fresh=both_outputs)
        heavy = [cp, protobuf, to_onnx, to_torch, cp_over, onnx_over, unverified, verified]
        for step in heavy:  # one untimed run each (imports compiled, files in place)
            subprocess.run([*step.argv], check=True, stdout=subprocess.DEVNULL, env=STEP_ENV)
        quiet_runs = rounds_of(heavy, args.rounds, args.quiet_wait)
        bare = Step("python -c pass", [python, "-c", "pass"])
        helps = Step("squeeze-convert --help", [*cli, "--help"])
        subprocess.run(helps.argv, check=True, stdout=subprocess.DEVNULL, env=STEP_ENV)
        rounds_of([bare, helps], 9, 0)

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
        subprocess.run([*cli, "make-weights", str(squeeze), "-o", str(squeeze_weights), "--force"], check=True,
                       stdout=subprocess.DEVNULL)
        verify_runs, forward_runs = [], []
        for _ in range(3):
            done = subprocess.run([python, "-c", verify_code % (str(ROOT), str(squeeze), str(squeeze_weights))],
                                  capture_output=True, text=True, check=True, env=STEP_ENV)
            seconds, comparisons, forward = done.stdout.split()
            verify_runs.append(float(seconds))
            forward_runs.append(float(forward))
        verify_seconds, forward_seconds = min(verify_runs), min(forward_runs)

        print(f"\ncaffemodel: {size / 1e6:.0f} MB (VGG-16, {VGG16_PARAMETERS:,} parameters); "
              f"{args.rounds} interleaved rounds ({quiet_runs}/{args.rounds * len(heavy)} runs started on idle CPUs), "
              "best time and highest peak of each step; "
              f"{os.cpu_count()} CPUs, load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after\n")
        print(f"{'step':<20} {'wall s':>7} {'(worst)':>8} {'x cp time':>10} {'peak RSS MB':>12} {'VmHWM MB':>9} "
              f"{'RSS / file':>11}")
        for step in heavy:
            baseline = cp_over if step is onnx_over else cp
            print(f"{step.name:<20} {step.best:>7.2f} {max(step.seconds):>8.2f} {step.best / baseline.best:>10.2f} "
                  f"{step.maxrss / 1e6:>12.0f} {step.hwm / 1e6:>9.0f} {step.maxrss / size:>11.2f}")
        floor = max(step.floor for step in heavy)
        print(f"(x cp time: against cp, or cp over existing for ONNX over existing; peak RSS: the step's own "
              f"ru_maxrss, through a {floor / 1e6:.0f} MB wrapper that bounds it from below; VmHWM: sampled every "
              "2 ms, a cross-check)")
        help_ratio = helps.best / bare.best
        print(f"\n--help: {helps.best * 1e3:.0f} ms vs bare python {bare.best * 1e3:.0f} ms -> {help_ratio:.2f}x")
        print(f"verify SqueezeNet v1.1 (reference + onnxruntime + pytorch, {comparisons} comparisons) after "
              f"start-up: {verify_seconds:.2f} s (best of {len(verify_runs)})")
        print(f"reference executor (numpy) forward of SqueezeNet v1.1, 1x3x227x227: {forward_seconds:.2f} s "
              f"(best of {3 * len(forward_runs)})")

        verify_ratio = verified.best / unverified.best
        print(f"conversion (ONNX + PyTorch) with verification: {verified.best:.2f} s = {verify_ratio:.2f}x without it "
              f"({unverified.best:.2f} s); peak RSS {verified.maxrss / 1e6:.0f} MB = {verified.maxrss / size:.2f}x "
              "the caffemodel")
        onnx_ratio = to_onnx.best / cp.best
        over_ratio = onnx_over.best / cp_over.best
        checks = [
            (f"ONNX time <= {TARGET_ONNX_X_CP:g}x cp", onnx_ratio <= TARGET_ONNX_X_CP, f"{onnx_ratio:.2f}x"),
            (f"(over existing files: {TARGET_ONNX_X_CP:g}x)", over_ratio <= TARGET_ONNX_X_CP, f"{over_ratio:.2f}x"),
            (f"ONNX peak RSS <= {TARGET_RSS_X_FILE:g}x file", to_onnx.maxrss <= TARGET_RSS_X_FILE * size,
             f"{to_onnx.maxrss / size:.2f}x"),
            (f"PyTorch peak RSS <= {TARGET_RSS_X_FILE:g}x file", to_torch.maxrss <= TARGET_RSS_X_FILE * size,
             f"{to_torch.maxrss / size:.2f}x"),
            (f"--help <= {TARGET_HELP_X_BARE:g}x bare python", help_ratio <= TARGET_HELP_X_BARE, f"{help_ratio:.2f}x"),
            (f"convert + verify time <= {TARGET_VERIFY_X_CONVERT:g}x convert", verify_ratio <= TARGET_VERIFY_X_CONVERT,
             f"{verify_ratio:.2f}x"),
            (f"convert + verify peak RSS <= {TARGET_RSS_X_FILE:g}x file", verified.maxrss <= TARGET_RSS_X_FILE * size,
             f"{verified.maxrss / size:.2f}x"),
            (f"verify < {TARGET_VERIFY_SECONDS:g} s", verify_seconds < TARGET_VERIFY_SECONDS,
             f"{verify_seconds:.2f} s"),
        ]
        print("\ntargets: " + "; ".join(f"{what}: {figure} {'met' if ok else 'MISSED'}" for what, ok, figure in checks)
              + f" -> {sum(ok for _, ok, _ in checks)}/{len(checks)} met")
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
