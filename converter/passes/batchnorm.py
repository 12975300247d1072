"""BatchNorm (+ Scale) folding into the preceding convolution or InnerProduct.

Conv -> BatchNorm -> Scale, where each reads only the previous one's output, computes
    gamma * (conv(x) + b - mean) / sqrt(var + eps) + beta
which is one convolution with weight w * f and bias (b - mean) * f + beta, f = gamma / sqrt(var + eps).
A BatchNorm without Scale (gamma 1, beta 0) and a Scale right after a convolution fold the same way,
and so does a Dense (InnerProduct) on axis 1, whose output's dim 1 is its output features: weight
rows times f. Only per-channel affine factors fold (a Scale on axis 1 with its own gamma), only a
BatchNorm with stored statistics (one with the batch's own depends on the batch), and only when every
factor and shift is finite (var + eps <= 0 would make Caffe's own output inf or NaN, which folded
weights would not reproduce).

The Caffe blobs the chain's inner tensors held (the convolution's own top, a BatchNorm's top before
its Scale) exist only inside the folded node: the graph records them in `graph.folded`, so
verification can say which blobs it could not observe.
"""

from __future__ import annotations

import numpy as np

from converter.ir import BatchNorm, Conv, Dense, Graph, Node, Scale
from converter.ir.graph import ConsumerIndex
from converter.mapped import release_pages


def _channel_scale(node: Node | None, channels: int) -> bool:
    return (isinstance(node, Scale) and node.gamma is not None and node.axis == 1
            and node.gamma.size == channels and len(node.inputs) == 1)


def _foldable_into(node: Node) -> bool:
    if len(node.inputs) != 1 or len(node.outputs) != 1:
        return False  # weights shared by several inputs: folding one output's affine would change all
    return isinstance(node, Conv) or (isinstance(node, Dense) and node.axis == 1)


def fold_batchnorm(graph: Graph) -> int:
    """Fold every Conv/Dense [-> BatchNorm] [-> Scale] chain; returns how many nodes were absorbed."""
    readers = ConsumerIndex(graph)  # one pass, so that folding stays linear in the graph's size
    absorbed: set[int] = set()
    for linear in [n for n in graph.nodes if _foldable_into(n)]:
        assert isinstance(linear, (Conv, Dense))
        channels = int(linear.weight.shape[0])
        factor = np.ones(channels, np.float64)
        shift = np.zeros(channels, np.float64)  # y = linear_out * factor + shift
        chain: list[Node] = []
        nxt = readers.sole_consumer(linear.outputs[0])
        if (isinstance(nxt, BatchNorm) and nxt.mean is not None and nxt.var is not None
                and nxt.mean.size == channels and len(nxt.inputs) == 1):
            with np.errstate(divide="ignore", invalid="ignore"):
                inv_std = 1.0 / np.sqrt(nxt.var.reshape(-1).astype(np.float64) + nxt.eps)
            factor, shift = inv_std, -nxt.mean.reshape(-1).astype(np.float64) * inv_std
            chain.append(nxt)
            nxt = readers.sole_consumer(nxt.outputs[0])
        if _channel_scale(nxt, channels):
            assert isinstance(nxt, Scale) and nxt.gamma is not None
            gamma = nxt.gamma.reshape(-1).astype(np.float64)
            beta = nxt.beta.reshape(-1).astype(np.float64) if nxt.beta is not None else 0.0
            factor, shift = factor * gamma, shift * gamma + beta
            chain.append(nxt)
        if not chain or not (np.isfinite(factor).all() and np.isfinite(shift).all()):
            continue
        bias = linear.bias.reshape(-1).astype(np.float64) if linear.bias is not None else np.zeros(channels)
        folded = (linear.weight * factor.reshape(-1, *[1] * (linear.weight.ndim - 1))).astype(np.float32)
        release_pages(linear.weight)  # a mapped caffemodel's pages just read are not kept resident
        linear.weight = folded
        linear.bias = (bias * factor + shift).astype(np.float32)
        inner = [linear.outputs[0], *(node.outputs[0] for node in chain[:-1])]
        for name in inner:
            for source in graph.tensors.pop(name).sources:
                graph.folded[source] = linear.name
        linear.outputs = [chain[-1].outputs[0]]
        absorbed.update(id(node) for node in chain)
    if absorbed:
        graph.nodes = [node for node in graph.nodes if id(node) not in absorbed]
    return len(absorbed)
