"""The layout for any graph: a `layers` ModuleDict (one module per node, keyed by the node's name
made an identifier) and a straight-line forward over temporaries t0, t1, ..."""

from __future__ import annotations

import numpy as np

from converter.emit.torch.registry import Helper, build
from converter.emit.torch.writer import TorchExport, class_name, identifier, module_source
from converter.ir import Graph


def generic_layout(graph: Graph) -> TorchExport:
    helpers: list[Helper] = []
    state: dict[str, np.ndarray] = {}
    taps: dict[str, str] = {}
    taken: set[str] = set()
    variables: dict[str, str] = {}
    init, forward = [], []
    argument_names: set[str] = {"self"}
    for tensor in graph.inputs:
        variables[tensor] = identifier(tensor, argument_names)
    for i, node in enumerate(graph.nodes):
        key = identifier(node.name, taken)
        built = build(node, graph)
        helpers.extend(built.helpers)
        init.append(f"        self.layers[{key!r}] = {built.code}")
        state.update({f"layers.{key}.{k}": v for k, v in built.params.items()})
        args = ", ".join(variables[t] for t in node.inputs)
        outs = []
        for j, tensor in enumerate(node.outputs):
            variables[tensor] = f"t{i}_{j}" if len(node.outputs) > 1 else f"t{i}"
            outs.append(variables[tensor])
        forward.append(f"        {', '.join(outs)}{',' if len(outs) > 1 else ''} = self.layers[{key!r}]({args})")
        if len(node.outputs) == 1:
            taps[f"layers.{key}"] = node.outputs[0]
    name = class_name(graph.name)
    inputs = ", ".join(variables[t] for t in graph.inputs)
    results = ", ".join(variables[t] for t in graph.outputs)
    source = module_source(f"{name}: a Caffe net as a PyTorch module.", helpers, f'''

class {name}(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleDict()
{chr(10).join(init)}

    def forward(self, {inputs}):
{chr(10).join(forward)}
        return {results}
''')
    return TorchExport(source, state, taps, name)
