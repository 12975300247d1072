"""Limits that keep a stranger's small file from costing more than its size: checked while reading,
before anything is allocated."""

from __future__ import annotations

# Refuse blobs beyond this many elements before allocating anything (8 GiB of float32).
MAX_BLOB_ELEMENTS = 1 << 31
# A weight blob must fit in a caffemodel, which Caffe reads only up to 2 GiB (protobuf's limit).
MAX_WEIGHT_ELEMENTS = 1 << 29
# Caffe's kMaxBlobAxes.
MAX_BLOB_AXES = 32
# Layers (and net inputs) a net may have: far above any real net (ResNet-152 has about 500), low
# enough that a hostile net of this many one-line layers still converts in seconds.
MAX_LAYERS = 200_000
