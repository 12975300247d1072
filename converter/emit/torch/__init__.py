"""IR -> PyTorch: a standalone module file (needs only torch) plus its state_dict. Knows nothing of Caffe.

One small emitter per IR op (`ops/<op>.py`, registered with `@converts`) gives each node's module.
SqueezeNet-shaped chains get torchvision's layout (`features.N`, `classifier.1`; `squeezenet.py`) so
torchvision's SqueezeNet checkpoints and ours share keys; every other graph gets straight-line code
over a `layers` ModuleDict (`generic.py`). `writer.py` assembles, saves and loads the file.
"""

from __future__ import annotations

import types
import warnings

import numpy as np

from converter.emit.torch.generic import generic_layout
from converter.emit.torch.registry import EMITTERS, Built, Helper, converts, load_emitters
from converter.emit.torch.squeezenet import is_squeezenet, torchvision_layout
from converter.emit.torch.writer import TorchExport, identifier, load_module, save_torch
from converter.ir import Graph

__all__ = [
    "EMITTERS",
    "Built",
    "Helper",
    "TorchExport",
    "converts",
    "emit_torch",
    "identifier",
    "load_emitters",
    "load_module",
    "save_torch",
]


def emit_torch(graph: Graph) -> TorchExport:
    import torch

    export = torchvision_layout(graph) if is_squeezenet(graph) else generic_layout(graph)
    export.state_dict = {k: _as_tensor(v, torch) for k, v in export.state_dict.items()}
    return export


def _as_tensor(array: np.ndarray, torch: types.ModuleType) -> object:
    """A tensor sharing the array's memory: weights are read-only views of the mapped caffemodel,
    and nothing here writes to them, so no copy is made (torch warns about read-only memory)."""
    # ascontiguousarray makes a 0-axis array (a shared PReLU slope, a num_axes 0 Scale) 1-D: reshape back.
    contiguous = np.ascontiguousarray(array, dtype=np.float32).reshape(np.shape(array))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(contiguous)
