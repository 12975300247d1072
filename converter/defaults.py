"""Defaults shared by the command line and the library, in one place. Imports nothing, so that the
command line can read them without loading numpy, onnx or torch (`--help` stays fast)."""

DEFAULT_OPSET = 17
SUPPORTED_OPSETS = range(11, 22)  # ONNX opsets the emitter writes: 11..21 (11 and 12 lowered from 13's forms)
LOWEST_EMITTED = 13  # the oldest opset whose forms the emitters write (older ones: converter/emit/onnx/downgrade.py)

DEFAULT_TOLERANCE = 1e-4
"""Per blob: max|a-b| <= tolerance * max(1, max|b|) (the golden blobs' own rule)."""

FP16_TOLERANCE = 1e-2
INT8_TOLERANCE = 0.1
"""The fp16 and int8 models' own tolerances against the float32 model (same rule, per output, worst
over the images): they cannot meet DEFAULT_TOLERANCE."""

IMAGENET_MEAN_BGR = (104.0, 117.0, 123.0)
"""The per-channel B,G,R mean Caffe's ImageNet models were trained with."""
