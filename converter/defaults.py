"""Defaults shared by the command line and the library, in one place. Imports nothing, so that the
command line can read them without loading numpy, onnx or torch (`--help` stays fast)."""

DEFAULT_OPSET = 17
SUPPORTED_OPSETS = range(13, 22)  # ONNX opsets the emitter writes: 13..21

DEFAULT_TOLERANCE = 1e-4
"""Per blob: max|a-b| <= tolerance * max(1, max|b|) (the golden blobs' own rule)."""

IMAGENET_MEAN_BGR = (104.0, 117.0, 123.0)
"""The per-channel B,G,R mean Caffe's ImageNet models were trained with."""
