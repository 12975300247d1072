"""Pieces shared by several emitters."""

from __future__ import annotations

import numpy as np

from converter.emit.torch.registry import Helper
from converter.ir import Conv, ConvTranspose, Graph, Node

ELEMENTWISE = Helper("Elementwise", '''
class Elementwise(nn.Module):
    """Caffe's simple element-wise layers: abs, power, exp and log with scale and shift."""

    def __init__(self, op, power=1.0, scale=1.0, shift=0.0, base=None):
        super().__init__()
        self.op, self.power, self.scale, self.shift, self.base = op, power, scale, shift, base

    def forward(self, x):
        if self.op == "abs":
            return x.abs()
        y = self.shift + self.scale * x
        if self.op == "power":
            return y if self.power == 1 else y.pow(self.power)
        if self.op == "exp":
            return torch.exp(y) if self.base is None else torch.pow(torch.tensor(self.base, dtype=x.dtype), y)
        return torch.log(y) if self.base is None else torch.log(y) / torch.log(torch.tensor(self.base))
''')


def conv_params(node: Conv | ConvTranspose) -> dict[str, np.ndarray]:
    """A convolution's state_dict entries: weight, and bias when it has one."""
    params = {"weight": node.weight}
    if node.bias is not None:
        params["bias"] = node.bias
    return params


def input_rank(node: Node, graph: Graph) -> int:
    return len(graph.tensors[node.inputs[0]].shape)
