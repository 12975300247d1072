"""IR -> PyTorch: a standalone module file (needs only torch) plus its state_dict. Knows nothing of Caffe.

One small emitter per IR op (`ops/<op>.py`, registered with `@converts`) gives each node's module.
SqueezeNet-shaped chains get torchvision's layout (`features.N`, `classifier.1`; `squeezenet.py`) so
torchvision's SqueezeNet checkpoints and ours share keys; every other graph gets straight-line code
over a `layers` ModuleDict (`generic.py`). `writer.py` assembles, saves and loads the file.
"""

from __future__ import annotations

from collections.abc import Mapping

from converter.emit.torch.generic import generic_layout
from converter.emit.torch.registry import EMITTERS, Built, Helper, converts
from converter.emit.torch.squeezenet import is_squeezenet, torchvision_layout
from converter.emit.torch.writer import (
    TorchExport,
    identifier,
    load_module,
    save_torch,
    with_deployment_members,
)
from converter.ir import Graph

__all__ = [
    "EMITTERS",
    "Built",
    "Helper",
    "TorchExport",
    "converts",
    "emit_torch",
    "identifier",
    "load_module",
    "save_torch",
]


def emit_torch(graph: Graph, preprocessing: Mapping[str, object] | None = None) -> TorchExport:
    """The graph as a module source and its state_dict (tensors sharing the IR's weight memory).

    The class carries `preprocessing` (what its input must have gone through, as plain data; an
    empty dict when unknown) and a `load(path)` class method."""
    export = torchvision_layout(graph) if is_squeezenet(graph) else generic_layout(graph)
    export.source = with_deployment_members(export.source, export.class_name, dict(preprocessing or {}))
    return export
