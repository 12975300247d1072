"""Helpers for the PyTorch emitter tests: tiny hand-built IR graphs, emitted, loaded and run.

Nothing here computes an expected value: each test states its own expectation (PyTorch's
functional ops or a numpy loop written in the test or in emit_common).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from converter.emit.torch import TorchExport, emit_torch, load_module
from converter.emit.torch.writer import as_state_dict
from converter.ir import Graph
from converter.ir.graph import Shape
from emit_common import Oracle, compare_outputs, graph_of, rand

__all__ = ["Emitted", "check", "emit", "graph_of", "import_generated", "rand", "run"]


@dataclass
class Emitted:
    """An export and its generated class, loaded with the export's weights."""

    export: TorchExport
    module: torch.nn.Module

    def kinds(self) -> list[str]:
        """The class name of each node's module, in graph order (generic layout)."""
        return [type(m).__name__ for m in self.module.layers.values()]

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """state_dict key -> shape, as the export gives it."""
        return {key: tuple(value.shape) for key, value in self.export.state_dict.items()}


def emit(graph: Graph) -> Emitted:
    export = emit_torch(graph)
    return Emitted(export, load_module(export))


def run(emitted: Emitted, graph: Graph, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The module's outputs by graph output name, and every tapped tensor its hook saw."""
    seen: dict[str, np.ndarray] = {}
    handles = []
    for path, tensors in emitted.export.taps.items():
        def hook(_m: object, _i: object, out: object, tensors: tuple[str, ...] = tensors) -> None:
            values = out if isinstance(out, tuple) else (out,)
            seen.update((name, value.detach().numpy().copy()) for name, value in zip(tensors, values, strict=True))

        handles.append(emitted.module.get_submodule(path).register_forward_hook(hook))
    with torch.no_grad():
        outs = emitted.module(*(torch.from_numpy(feeds[name]) for name in graph.inputs))
    for handle in handles:
        handle.remove()
    outs = outs if isinstance(outs, tuple) else (outs,)
    results = {name: out.numpy() for name, out in zip(graph.outputs, outs, strict=True)}
    for name, value in results.items():
        if name in seen:
            np.testing.assert_array_equal(seen[name], value, err_msg=f"tap of {name}")
    return results


def check(graph: Graph, oracle: Oracle, *, batches: Sequence[int] = (1, 3),
          inputs: Mapping[str, Callable[[Shape, int], np.ndarray]] | None = None,
          rtol: float = 1e-5, atol: float = 1e-5) -> Emitted:
    """Emit and load `graph`, then for each batch size run it on random inputs (or
    `inputs[name](shape, seed)`) and compare every graph output with `oracle(*input arrays)`; a tap
    of a graph output must see the returned value. Returns the export and module."""
    emitted = emit(graph)
    compare_outputs(graph, lambda feeds: run(emitted, graph, feeds), oracle, batches=batches, inputs=inputs,
                    rtol=rtol, atol=atol)
    return emitted


def import_generated(export: TorchExport, folder: Path, stem: str) -> torch.nn.Module:
    """The generated class imported from a file (torch.jit.script reads its source there), with the
    export's weights, in eval mode."""
    path = folder / f"{stem}.py"
    path.write_text(export.source)
    spec = importlib.util.spec_from_file_location(stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[stem] = module
    spec.loader.exec_module(module)
    net = getattr(module, export.class_name)()
    net.load_state_dict(as_state_dict(export.state_dict))
    return net.eval()
