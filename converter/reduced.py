"""Smaller, faster variants of an emitted ONNX model, verified honestly against the float32 one.

- fp16: weights and compute in float16, inputs and outputs kept float32 (onnxruntime's
  float16 converter, keep_io_types);
- int8: onnxruntime's static quantization (QDQ, per-channel int8 weights, uint8 activations),
  calibrated on the given images, fed as the model's own metadata says.

Neither can meet the float tolerance (1e-4): each has its own, explicit tolerance on the worst
relative error per output (max|a-b| / max(1, max|b|) over the images, as for float blobs), and the
report gives the top-1 and top-5 agreement with the float32 model on the images too.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx

from converter.dataset import image_files
from converter.defaults import FP16_TOLERANCE, INT8_TOLERANCE

__all__ = ["FP16_TOLERANCE", "INT8_TOLERANCE", "ReducedCheck", "calibration_images", "check_reduced", "fp16_model",
           "int8_model"]

MAX_CALIBRATION_IMAGES = 64


@dataclass
class ReducedCheck:
    """A reduced model against the float32 one on the same images."""

    kind: str  # "fp16" | "int8"
    tolerance: float
    images: int
    rel_err: dict[str, float] = field(default_factory=dict)  # per output, worst over the images
    top1_agreement: float = 0.0  # fraction of images whose top-1 class is the float model's
    top5_agreement: float = 0.0  # mean overlap of the top-5 sets (fraction of 5)

    @property
    def passed(self) -> bool:
        return all(err <= self.tolerance for err in self.rel_err.values())

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "passed": self.passed, "tolerance": self.tolerance,
                "rule": "per output, over the images: max|a-b| <= tolerance * max(1, max|b|) against float32",
                "images": self.images, "worst_rel_err": self.rel_err,
                "top1_agreement": self.top1_agreement, "top5_agreement": self.top5_agreement}

    def summary(self) -> str:
        worst = max(self.rel_err.values(), default=0.0)
        return (f"{self.kind}: top-1 agreement {self.top1_agreement:.0%}, top-5 {self.top5_agreement:.0%} on "
                f"{self.images} image(s); worst rel err {worst:.3g} (tolerance {self.tolerance:g})")


def calibration_images(folder: Path) -> list[Path]:
    """The images in `folder` (sorted, at most MAX_CALIBRATION_IMAGES); none is an error."""
    return image_files(Path(folder), "calibration images")[:MAX_CALIBRATION_IMAGES]


def fp16_model(model: onnx.ModelProto) -> onnx.ModelProto:
    from onnxruntime.transformers.float16 import convert_float_to_float16

    return convert_float_to_float16(model, keep_io_types=True)


def int8_model(model: onnx.ModelProto, feeds: Sequence[dict[str, np.ndarray]]) -> onnx.ModelProto:
    """onnxruntime's static quantization (QDQ, per-channel weights) calibrated on `feeds`."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Feeds(CalibrationDataReader):
        def __init__(self) -> None:
            self.pending = iter(feeds)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.pending, None)

    with tempfile.TemporaryDirectory(prefix="squeeze-convert-int8-") as folder:
        source, target = Path(folder) / "float.onnx", Path(folder) / "int8.onnx"
        source.write_bytes(model.SerializeToString())
        quantize_static(str(source), str(target), Feeds(), quant_format=QuantFormat.QDQ, per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)
        return onnx.load(str(target))


def check_reduced(kind: str, reduced: onnx.ModelProto, float_model: onnx.ModelProto,
                  feeds: Sequence[dict[str, np.ndarray]], tolerance: float) -> ReducedCheck:
    """Both models on every feed: worst relative error per output; top-1/top-5 agreement on the
    first output's scores."""
    import onnxruntime as ort

    def session(model: onnx.ModelProto) -> ort.InferenceSession:
        return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])

    reference, candidate = session(float_model), session(reduced)
    names = [o.name for o in reference.get_outputs()]
    check = ReducedCheck(kind, tolerance, len(feeds), {name: 0.0 for name in names})
    top1 = top5 = 0.0
    for feed in feeds:
        expected = reference.run(names, feed)
        actual = candidate.run(names, feed)
        for name, a, b in zip(names, actual, expected, strict=True):
            err = float(np.abs(a.astype(np.float64) - b).max()) / max(1.0, float(np.abs(b).max()))
            check.rel_err[name] = max(check.rel_err[name], err if np.isfinite(err) else float("inf"))
        scores_a, scores_b = actual[0].reshape(-1), expected[0].reshape(-1)
        best_a, best_b = np.argsort(-scores_a, kind="stable")[:5], np.argsort(-scores_b, kind="stable")[:5]
        top1 += float(best_a[0] == best_b[0])
        top5 += len(set(best_a.tolist()) & set(best_b.tolist())) / 5
    check.top1_agreement, check.top5_agreement = top1 / len(feeds), top5 / len(feeds)
    return check
