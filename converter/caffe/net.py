"""A Caffe net as the reader hands it on: TEST-phase layers in run order, inputs, weights, shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from converter.caffe import caffe_pb2

Shape = tuple[int, ...]


@dataclass
class CaffeLayer:
    """One layer, upgraded to the current format (V1 enum types become names like "Convolution"; a
    Python layer's type is its python_param `module.layer`)."""

    name: str
    type: str
    bottoms: list[str]
    tops: list[str]
    param: caffe_pb2.LayerParameter
    blobs: list[np.ndarray] = field(default_factory=list)
    # Shapes Caffe would give each bottom and top, filled in by shape inference.
    bottom_shapes: list[Shape] = field(default_factory=list)
    top_shapes: list[Shape] = field(default_factory=list)
    # The fork whose semantics the layer follows where Caffe builds read the same prototxt
    # differently (converter.caffe.fork_semantics); "" for BVLC's.
    fork: str = ""
    # `name` is unique in the net; the file's own name is `param.name`, which two layers may share
    # (Caffe never checks). Caffe copies a caffemodel's weights into the first layer of a name only.
    receives_weights: bool = True

    @property
    def in_place(self) -> bool:
        return bool(self.tops) and self.tops == self.bottoms[: len(self.tops)]


@dataclass
class CaffeNet:
    name: str
    inputs: dict[str, Shape]
    layers: list[CaffeLayer]
    source_files: list[Path] = field(default_factory=list)
    # The Caffe whose reading the net follows where builds differ (converter.caffe.fork_semantics),
    # and notes on how it was chosen, for the user.
    caffe_fork: str = "bvlc"
    notes: list[str] = field(default_factory=list)

    @property
    def outputs(self) -> list[str]:
        """Blobs no later layer reads, in the order Caffe's forward pass returns them."""
        available: dict[str, None] = dict.fromkeys(self.inputs)
        for layer in self.layers:
            for bottom in layer.bottoms:
                available.pop(bottom, None)
            for top in layer.tops:
                available[top] = None
        return list(available)
