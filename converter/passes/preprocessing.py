"""Baking preprocessing into a graph: the graph's image input becomes the image as people hold it,
and the channel flip, mean and scale happen inside.

The input the graph was trained on follows from the new one as x[c] = a[c] * u[perm[c]] + b[c]
(converter.preprocessing.Affine). When the input feeds exactly one convolution, with no zero
padding (padded border taps would see 0, not the preprocessed value of a black pixel), one group,
and b is per channel, that is folded into its weights and bias exactly:
    w'[o, perm[c]] = w[o, c] * a[c],   bias'[o] = bias[o] + sum_{c,kh,kw} w[o, c, kh, kw] * b[c].
Otherwise explicit ops go in front: a 1x1 convolution doing flip and per-channel factor (and a
per-channel b), then a Bias for a per-pixel b. The original graph is left as it was.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from converter.ir import Bias, Conv, Graph, Node, Tensor
from converter.ir.graph import fresh_name
from converter.preprocessing import Affine


def foldable_conv(graph: Graph, image: str, affine: Affine) -> Conv | None:
    """The one convolution the affine folds into exactly, if there is one."""
    readers = graph.consumers(image)
    if len(readers) != 1 or image in graph.outputs:
        return None
    conv = readers[0]
    if (not isinstance(conv, Conv) or conv.inputs != [image] or conv.group != 1 or conv.pad != (0, 0)
            or conv.extra_end != (0, 0) or affine.b.ndim != 1):
        return None
    return conv


def bake(graph: Graph, image: str, affine: Affine) -> tuple[Graph, str]:
    """A copy of `graph` taking the new input under the same name; and how it was baked."""
    conv = foldable_conv(graph, image, affine)
    if conv is not None:
        weight = conv.weight.astype(np.float64)
        bias = np.zeros(conv.out_channels) if conv.bias is None else conv.bias.astype(np.float64)
        bias = bias + np.einsum("ochw,c->o", weight, affine.b)
        folded = np.empty_like(weight)
        folded[:, list(affine.perm)] = weight * affine.a[None, :, None, None]
        new = replace(conv, weight=folded.astype(np.float32), bias=bias.astype(np.float32))
        nodes = [new if node is conv else node for node in graph.nodes]
        return _copy(graph, nodes, {}), f"folded exactly into the first convolution '{conv.name}'"
    channels = graph.tensors[image].shape[1]
    inner = _fresh(graph, f"{image}/preprocessed")
    mixed = inner if affine.b.ndim == 1 else _fresh(graph, f"{image}/flipped_scaled")
    mix = np.zeros((channels, channels, 1, 1), np.float32)
    mix[np.arange(channels), list(affine.perm), 0, 0] = affine.a
    prelude: list[Node] = [Conv(name=_fresh(graph, "preprocess/flip_scale"), inputs=[image], outputs=[mixed],
                                weight=mix, bias=affine.b.astype(np.float32) if affine.b.ndim == 1 else None)]
    if affine.b.ndim != 1:
        prelude.append(Bias(name=_fresh(graph, "preprocess/mean"), inputs=[mixed], outputs=[inner],
                            beta=affine.b.astype(np.float32), axis=1))
    renamed = [replace(node, inputs=[inner if t == image else t for t in node.inputs]) for node in graph.nodes]
    tensors = {inner: Tensor(inner, graph.tensors[image].shape), mixed: Tensor(mixed, graph.tensors[image].shape)}
    return _copy(graph, prelude + renamed, tensors), "explicit operations in front of the net"


def _fresh(graph: Graph, name: str) -> str:
    return fresh_name(name, set(graph.tensors) | {node.name for node in graph.nodes})


def _copy(graph: Graph, nodes: list[Node], tensors: dict[str, Tensor]) -> Graph:
    return Graph(graph.name, list(graph.inputs), list(graph.outputs), nodes, {**graph.tensors, **tensors},
                 dict(graph.metadata), graph.doc)
