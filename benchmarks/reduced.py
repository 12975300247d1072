"""Size and latency of the fp16 and int8 SqueezeNet v1.1 against float32 (ONNX Runtime, CPU).

    python benchmarks/reduced.py [--weights W] [--images DIR] [--runs N] [--threads T]

Converts SqueezeNet v1.1 (default: the golden case's weights from ../shared, else deterministic demo
weights), writes float32, fp16 and int8 (calibrated on --images, default ../shared's project images)
ONNX models as `convert --fp16 --int8` does, and times each one with ONNX Runtime on a 1x3x227x227
input: the median of --runs runs after two warm-up runs, in one session with --threads intra-op
threads. Prints size, latency and their ratios to float32, and the agreement with the float32
model on the images.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"


def latency(model_bytes: bytes, x, runs: int, threads: int) -> float:  # noqa: ANN001 - numpy array
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    for _ in range(2):
        session.run(None, {name: x})
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, {name: x})
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=SHARED / "golden" / "squeezenet_v1.1" / "weights.caffemodel")
    parser.add_argument("--images", type=Path, default=SHARED / "reference_models" / "images")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    from converter import demo, pipeline, reduced
    from converter.caffe.synthetic import write_synthetic_weights
    from converter.preprocessing import from_metadata

    prototxt = ROOT / "reference_models" / "squeezenet_v1.1" / "deploy.prototxt"
    with tempfile.TemporaryDirectory() as folder:
        weights = args.weights
        if not weights.is_file():
            weights = Path(folder) / "demo.caffemodel"
            write_synthetic_weights(prototxt, weights)
        conversion = pipeline.convert(prototxt, weights, preprocessing={"mean": (104.0, 117.0, 123.0)})
        pipeline.emit(conversion, formats=("onnx",))
        model = conversion.onnx_export.to_proto()
        fed_as = from_metadata({p.key: p.value for p in model.metadata_props})
        size = tuple(conversion.graph.tensors[conversion.graph.inputs[0]].shape[2:])
        feeds = [{conversion.graph.inputs[0]: demo.load_image_as(path, size, fed_as)}
                 for path in reduced.calibration_images(args.images)]
        variants = {"float32": model, "fp16": reduced.fp16_model(model), "int8": reduced.int8_model(model, feeds)}
        x = feeds[0][conversion.graph.inputs[0]]
        print(f"SqueezeNet v1.1 ({weights.name}), ONNX Runtime CPU, {args.threads} thread(s), "
              f"median of {args.runs} runs, input 1x3x{size[0]}x{size[1]}")
        base_size = base_time = 0.0
        for kind, variant in variants.items():
            data = variant.SerializeToString()
            seconds = latency(data, x, args.runs, args.threads)
            base_size, base_time = (len(data), seconds) if kind == "float32" else (base_size, base_time)
            line = (f"{kind:8s} {len(data):>10,} bytes ({len(data) / base_size:.2f}x)  "
                    f"{seconds * 1000:7.2f} ms ({seconds / base_time:.2f}x)")
            if kind != "float32":
                tolerance = reduced.FP16_TOLERANCE if kind == "fp16" else reduced.INT8_TOLERANCE
                line += "  " + reduced.check_reduced(kind, variant, model, feeds, tolerance).summary()
            print(line)


if __name__ == "__main__":
    main()
