"""squeeze-convert: Caffe models to ONNX and PyTorch, verified against Caffe's semantics."""

__version__ = "0.1.0"
