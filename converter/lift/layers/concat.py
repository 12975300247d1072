"""Caffe Concat -> Concat (axis, or the legacy concat_dim)."""

from converter.caffe.layers.concat import concat_axis
from converter.caffe.net import CaffeLayer
from converter.ir import Concat
from converter.lift.registry import converts, io


@converts("Concat")
def concat(layer: CaffeLayer) -> Concat:
    return Concat(**io(layer), axis=concat_axis(layer, len(layer.top_shapes[0])))
