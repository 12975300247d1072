"""The Caffe side: reading prototxt and caffemodel files and Caffe's layer semantics.

Nothing here knows about ONNX or PyTorch.
"""
