"""Emitters: the IR to ONNX and PyTorch. They know nothing of Caffe."""
