"""How close the memory estimate (converter.memory) is to what a verification really peaks at.

    python benchmarks/memory_estimate.py [--workdir DIR] [--only NAME]

For SqueezeNet v1.1 at three input sizes and VGG-16, makes demo weights, then runs
`squeeze-convert verify` (ONNX Runtime and PyTorch against the reference executor) as a fresh
process under `peak_rss.py`, and prints per case the measured peak RSS, the estimate
`memory.bytes_needed(net, copies=3)` and their ratio. The estimate is meant to be within 15% of
the peak (what `check_fits` compares with the memory available).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SQUEEZENET = ROOT / "reference_models" / "squeezenet_v1.1" / "deploy.prototxt"
CASES = {
    "squeezenet_v1.1 1x3x227x227": (SQUEEZENET, "1,3,227,227"),
    "squeezenet_v1.1 8x3x227x227": (SQUEEZENET, "8,3,227,227"),
    "squeezenet_v1.1 1x3x512x512": (SQUEEZENET, "1,3,512,512"),
    "vgg16 1x3x224x224": (None, "1,3,224,224"),
}


def measure(name: str, prototxt: Path, shape: str, workdir: Path) -> dict[str, object]:
    from converter import memory, pipeline

    folder = workdir / name.replace(" ", "_")
    folder.mkdir(parents=True, exist_ok=True)
    proto = folder / "net.prototxt"
    proto.write_text(prototxt.read_text())
    weights = folder / "net.caffemodel"
    command = [sys.executable, str(ROOT / "cli.py")]
    if not weights.exists():
        subprocess.run([*command, "make-weights", str(proto)], check=True, capture_output=True)
    net = pipeline.convert(proto, weights, input_shapes={"data": tuple(int(d) for d in shape.split(","))}).net
    estimate = memory.bytes_needed(net, copies=3)
    run = subprocess.run([sys.executable, "-S", "-I", str(ROOT / "benchmarks" / "peak_rss.py"), *command, "verify",
                          str(proto), "-w", str(weights), "--input-shape", shape],
                         capture_output=True, text=True, check=True)
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    peak = max(figures["maxrss_bytes"], figures["hwm_bytes"])
    return {"case": name, "peak_mib": round(peak / 2**20), "estimate_mib": round(estimate / 2**20),
            "estimate_over_peak": round(estimate / peak, 3), "exit": figures["exit"],
            "seconds": round(figures["seconds"], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--only")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="memory_estimate_"))
    for name, (prototxt, shape) in CASES.items():
        if args.only and args.only not in name:
            continue
        if prototxt is None:
            from vgg16 import prototxt as vgg16_prototxt

            prototxt = workdir / "vgg16.prototxt"
            prototxt.write_text(vgg16_prototxt())
        print(json.dumps(measure(name, prototxt, shape, workdir)), flush=True)


if __name__ == "__main__":
    main()
