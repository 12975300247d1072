"""Pieces shared by several emitters."""

from __future__ import annotations

import numpy as np

from converter.ir import Conv, ConvTranspose, Graph, Node


def conv_params(node: Conv | ConvTranspose) -> dict[str, np.ndarray]:
    """A convolution's state_dict entries: weight, and bias when it has one."""
    params = {"weight": node.weight}
    if node.bias is not None:
        params["bias"] = node.bias
    return params


def input_rank(node: Node, graph: Graph) -> int:
    return len(graph.tensors[node.inputs[0]].shape)
