"""Caffe layers that are the identity at test time: Dropout, and Split (one copy per top). A Dropout
with the Fast R-CNN fork's `scale_train: false` scales instead: a Power with that factor."""

from converter.caffe.layers.dropout import test_time_factor
from converter.caffe.net import CaffeLayer
from converter.ir import Identity, Power
from converter.lift.registry import converts, io


@converts("Dropout", "Split")
def identity(layer: CaffeLayer) -> Identity | Power:
    factor = test_time_factor(layer) if layer.type == "Dropout" else None
    if factor is not None:
        return Power(**io(layer), scale=factor)
    return Identity(**io(layer))
