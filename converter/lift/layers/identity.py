"""Caffe layers that are the identity at test time: Dropout, and Split (one copy per top)."""

from converter.caffe.net import CaffeLayer
from converter.ir import Identity
from converter.lift.registry import converts, io


@converts("Dropout", "Split")
def identity(layer: CaffeLayer) -> Identity:
    return Identity(**io(layer))
