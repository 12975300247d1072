"""torchvision's SqueezeNet layout for SqueezeNet-shaped chains, so checkpoints share keys.

torchvision's SqueezeNet: `features` = Sequential(conv, ReLU, MaxPool, Fires and MaxPools...),
`classifier` = Sequential(Dropout, final 1x1 Conv2d, ReLU, AdaptiveAvgPool2d((1, 1))), hence the
keys `features.N.weight`, `features.N.squeeze.weight`, ..., `classifier.1.weight`.
"""

from __future__ import annotations

import numpy as np

from converter.emit.torch.registry import Helper, build
from converter.emit.torch.writer import TorchExport, class_name, module_source
from converter.ir import Conv, Fire, Graph, Pool, Relu, Softmax


def is_squeezenet(graph: Graph) -> bool:
    """A single chain: Conv, Relu, Pool, then Fires and max Pools, then Conv, Relu, global average
    Pool, optionally a Softmax."""
    kinds = [type(n) for n in graph.nodes]
    if len(graph.inputs) != 1 or len(graph.outputs) != 1 or not any(k is Fire for k in kinds):
        return False
    tail = kinds[-4:] if kinds[-1] is Softmax else kinds[-3:] + [None]
    if tail[:3] != [Conv, Relu, Pool] or kinds[:3] != [Conv, Relu, Pool]:
        return False
    middle = graph.nodes[3: len(kinds) - (4 if kinds[-1] is Softmax else 3)]
    if not all(isinstance(n, Fire) or (isinstance(n, Pool) and n.kind == "max") for n in middle):
        return False
    final_pool = graph.nodes[len(kinds) - (2 if kinds[-1] is Softmax else 1)]
    chain = all(b.inputs == a.outputs for a, b in zip(graph.nodes, graph.nodes[1:], strict=False))
    return chain and isinstance(final_pool, Pool) and final_pool.global_pool and final_pool.kind == "avg"


def _notes(final_conv: Conv, softmax: bool) -> list[str]:
    notes = ["state_dict keys follow torchvision's SqueezeNet (features.N..., classifier.1)",
             "the module returns Caffe's N x classes x 1 x 1; torchvision's SqueezeNet flattens to N x classes"]
    if final_conv.pad != (0, 0):
        notes.append(f"the final convolution pads by {final_conv.pad}, torchvision's has no padding: its keys "
                     "load into torchvision's SqueezeNet, but that class would compute different outputs "
                     "(the padded border cells become relu(bias) and enter the global average); "
                     "use the generated module")
    if softmax:
        notes.append("the Caffe net ends in a softmax, which torchvision's SqueezeNet leaves out (it returns logits)")
    notes.append("the module keeps its weights and computes in the channels_last memory format (the same "
                 "values and state_dict; PyTorch's CPU convolutions run about 2x faster on SqueezeNet than "
                 "in torchvision's contiguous layout)")
    return notes


def _in_place(code: str) -> str:
    """A ReLU in place, as torchvision's SqueezeNet has them (each reads a convolution's fresh
    output, which nothing else reads; a forward hook on that convolution sees the value before the
    ReLU only if it copies it, as verification does)."""
    return "nn.ReLU(inplace=True)" if code == "nn.ReLU()" else code


def torchvision_layout(graph: Graph) -> TorchExport:
    """The export of a graph `is_squeezenet` accepts."""
    last = graph.nodes[-1]
    softmax = last if isinstance(last, Softmax) else None
    body = graph.nodes[:-1] if softmax else graph.nodes
    features, classifier = body[:-3], body[-3:]
    helpers: list[Helper] = []
    state: dict[str, np.ndarray] = {}
    taps: dict[str, tuple[str, ...]] = {}
    lines = []
    for i, node in enumerate(features):
        built = build(node, graph)
        helpers.extend(built.helpers)
        lines.append(f"            {_in_place(built.code)},")
        state.update({f"features.{i}.{k}": v for k, v in built.params.items()})
        taps[f"features.{i}"] = (node.outputs[0],)
    final_conv = classifier[0]
    assert isinstance(final_conv, Conv)
    final, relu, pool = classified = [build(node, graph) for node in classifier]
    helpers.extend(helper for built in classified for helper in built.helpers)
    state.update({f"classifier.1.{k}": v for k, v in final.params.items()})
    taps.update({f"classifier.{i}": (node.outputs[0],) for i, node in enumerate(classifier, start=1)})
    name = class_name(graph.name, helpers)
    softmax_init = f"\n        self.softmax = nn.Softmax(dim={softmax.axis})" if softmax else ""
    forward = "self.softmax(self.classifier(self.features(x)))" if softmax else "self.classifier(self.features(x))"
    # channels_last: oneDNN convolves NHWC tensors without reordering every input and output.
    source = module_source(f"{name}: SqueezeNet in torchvision's layout (features / classifier).", helpers, f'''

class {name}(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
{chr(10).join(lines)}
        )
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.5),
            {final.code},
            {_in_place(relu.code)},
            {pool.code},
        ){softmax_init}
        self.to(memory_format=torch.channels_last)

    def forward(self, x):
        x = x.contiguous(memory_format=torch.channels_last)
        return {forward}
''')
    if softmax:
        taps["softmax"] = (softmax.outputs[0],)
    return TorchExport(source, state, taps, name, _notes(final_conv, softmax is not None))
