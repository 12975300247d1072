"""BatchNorm (+ Scale) folding into the preceding convolution.

Conv -> BatchNorm -> Scale, where each reads only the previous one's output, computes
    gamma * (conv(x) + b - mean) / sqrt(var + eps) + beta
which is one convolution with weight w * f and bias (b - mean) * f + beta, f = gamma / sqrt(var + eps).
A BatchNorm without Scale (gamma 1, beta 0) and a Scale right after a convolution fold the same way.
Only per-channel affine factors fold (a Scale on axis 1 with its own gamma), and only a BatchNorm
with stored statistics (one with the batch's own depends on the batch).
"""

from __future__ import annotations

import numpy as np

from converter.ir import BatchNorm, Conv, Graph, Node, Scale
from converter.ir.graph import ConsumerIndex


def _channel_scale(node: Node | None, channels: int) -> bool:
    return (isinstance(node, Scale) and node.gamma is not None and node.axis == 1
            and node.gamma.size == channels and len(node.inputs) == 1)


def fold_batchnorm(graph: Graph) -> int:
    """Fold every Conv [-> BatchNorm] [-> Scale] chain; returns how many nodes were absorbed."""
    readers = ConsumerIndex(graph)  # one pass, so that folding stays linear in the graph's size
    absorbed: set[int] = set()
    for conv in [n for n in graph.nodes if isinstance(n, Conv)]:
        if len(conv.outputs) != 1:
            continue  # weights shared by several inputs: folding one output's affine would change all
        channels = conv.out_channels
        factor = np.ones(channels, np.float64)
        shift = np.zeros(channels, np.float64)  # y = conv_out * factor + shift
        chain: list[Node] = []
        nxt = readers.sole_consumer(conv.outputs[0])
        # A BatchNorm with batch statistics (no stored mean/var) depends on the batch: never folded.
        if isinstance(nxt, BatchNorm) and nxt.mean is not None and nxt.var is not None and nxt.mean.size == channels:
            inv_std = 1.0 / np.sqrt(nxt.var.astype(np.float64) + nxt.eps)
            factor, shift = inv_std, -nxt.mean.astype(np.float64) * inv_std
            chain.append(nxt)
            nxt = readers.sole_consumer(nxt.outputs[0])
        if _channel_scale(nxt, channels):
            assert isinstance(nxt, Scale) and nxt.gamma is not None
            gamma = nxt.gamma.reshape(-1).astype(np.float64)
            beta = nxt.beta.reshape(-1).astype(np.float64) if nxt.beta is not None else 0.0
            factor, shift = factor * gamma, shift * gamma + beta
            chain.append(nxt)
        if not chain:
            continue
        bias = conv.bias.astype(np.float64) if conv.bias is not None else np.zeros(channels)
        conv.weight = (conv.weight * factor.reshape(-1, 1, 1, 1)).astype(np.float32)
        conv.bias = (bias * factor + shift).astype(np.float32)
        last = chain[-1].outputs[0]
        del graph.tensors[conv.outputs[0]]
        for node in chain[:-1]:
            del graph.tensors[node.outputs[0]]
        conv.outputs = [last]
        absorbed.update(id(node) for node in chain)
    if absorbed:
        graph.nodes = [node for node in graph.nodes if id(node) not in absorbed]
    return len(absorbed)
