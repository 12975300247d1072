"""Caffe Concat -> Concat (axis, or the legacy concat_dim)."""

from converter.caffe.net import CaffeLayer
from converter.ir import Concat
from converter.lift.registry import converts, io


@converts("Concat")
def concat(layer: CaffeLayer) -> Concat:
    param = layer.param.concat_param
    axis = param.concat_dim if param.HasField("concat_dim") and not param.HasField("axis") else param.axis
    return Concat(**io(layer), axis=axis % len(layer.top_shapes[0]))
