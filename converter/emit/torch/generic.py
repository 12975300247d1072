"""The layout for any graph: a `layers` ModuleDict (one module per node, keyed by the node's name
made an identifier) and a straight-line forward over temporaries t0, t1, ...

A net with convolutions computes in the channels_last memory format: its 4-D weights are kept so
and its 4-D inputs turned so, the values unchanged; PyTorch's CPU (oneDNN) convolutions then skip
reordering every input and output (GoogLeNet eager 1.5x faster, SqueezeNet 1.9x)."""

from __future__ import annotations

import numpy as np

from converter.emit.torch.registry import Helper, build
from converter.emit.torch.writer import TorchExport, class_name, identifier, module_source
from converter.ir import Conv, Graph

# Names a ModuleDict key cannot take: ModuleDict refuses keys that are its own attributes. These
# are torch 2.13's public ones (a test checks them against the installed torch), listed so that
# emitting needs no torch.
MODULE_DICT_ATTRIBUTES = frozenset({
    "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children", "clear",
    "compile", "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr", "float", "forward", "get_buffer",
    "get_extra_state", "get_parameter", "get_submodule", "half", "ipu", "items", "keys", "load_state_dict",
    "modules", "mtia", "named_buffers", "named_children", "named_modules", "named_parameters", "parameters",
    "pop", "register_backward_hook", "register_buffer", "register_forward_hook", "register_forward_pre_hook",
    "register_full_backward_hook", "register_full_backward_pre_hook", "register_load_state_dict_post_hook",
    "register_load_state_dict_pre_hook", "register_module", "register_parameter",
    "register_state_dict_post_hook", "register_state_dict_pre_hook", "requires_grad_", "set_extra_state",
    "set_submodule", "share_memory", "state_dict", "to", "to_empty", "train", "training", "type", "update",
    "values", "xpu", "zero_grad",
})


def _temporaries(graph: Graph) -> dict[str, str]:
    """IR tensor -> the forward variable holding it: t<node>, or t<node>_<output> for several outputs."""
    return {tensor: f"t{i}_{j}" if len(node.outputs) > 1 else f"t{i}"
            for i, node in enumerate(graph.nodes) for j, tensor in enumerate(node.outputs)}


def generic_layout(graph: Graph) -> TorchExport:
    helpers: list[Helper] = []
    state: dict[str, np.ndarray] = {}
    taps: dict[str, tuple[str, ...]] = {}
    taken = set(MODULE_DICT_ATTRIBUTES)
    temporaries = _temporaries(graph)
    # Graph inputs are forward's arguments: never a temporary's name, or a later read would see
    # the temporary instead.
    argument_names = {"self", *temporaries.values()}
    variables = {tensor: identifier(tensor, argument_names) for tensor in graph.inputs}
    init, forward = [], []
    for node in graph.nodes:
        key = identifier(node.name, taken)
        built = build(node, graph)
        helpers.extend(built.helpers)
        init.append(f"        self.layers[{key!r}] = {built.code}")
        state.update({f"layers.{key}.{k}": v for k, v in built.params.items()})
        args = ", ".join(variables[t] for t in node.inputs)
        args = f"[{args}]" if built.takes_list else args
        outs = [temporaries[t] for t in node.outputs]
        variables.update(zip(node.outputs, outs, strict=True))
        forward.append(f"        {', '.join(outs)}{',' if len(outs) > 1 else ''} = self.layers[{key!r}]({args})")
        taps[f"layers.{key}"] = tuple(node.outputs)
    images = [variables[t] for t in graph.inputs if len(graph.shape(t)) == 4]
    if images and any(isinstance(node, Conv) for node in graph.nodes):
        init.append("        self.to(memory_format=torch.channels_last)")
        forward[:0] = [f"        {v} = {v}.contiguous(memory_format=torch.channels_last)" for v in images]
    name = class_name(graph.name, helpers)
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
