"""Fire fusion: SqueezeNet's squeeze/expand pattern, found by structure, becomes one Fire node.

The pattern: a 1x1 convolution + ReLU whose output feeds exactly a 1x1 convolution + ReLU and a
3x3 pad-1 convolution + ReLU, both read only by one channel Concat as [1x1, 3x3]. Layer names are
never looked at; anything that does not match exactly stays as plain nodes.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from converter.ir import Concat, Conv, Fire, Graph, Node, Relu
from converter.ir.graph import ConsumerIndex


class _Match(NamedTuple):
    """The nodes of one Fire pattern, in graph order."""

    squeeze: Conv
    squeeze_relu: Relu
    expand1x1: Conv
    relu1: Relu
    expand3x3: Conv
    relu3: Relu
    concat: Concat


def _is_conv(node: Node | None, kernel: tuple[int, int], pad: tuple[int, int]) -> bool:
    return (
        isinstance(node, Conv)
        and node.kernel == kernel
        and node.pad == pad
        and node.extra_end == (0, 0)
        and node.stride == (1, 1)
        and node.dilation == (1, 1)
        and node.group == 1
    )


def _relu_after(readers: ConsumerIndex, conv: Conv) -> Relu | None:
    relu = readers.sole_consumer(conv.outputs[0])
    if isinstance(relu, Relu) and relu.negative_slope == 0 and relu.inputs == conv.outputs:
        return relu
    return None


def _fire_name(names: list[str]) -> str:
    prefix = os.path.commonprefix(names)
    prefix = prefix[: prefix.rfind("/")] if "/" in prefix else ""
    return prefix or names[-1]


def _match(graph: Graph, readers: ConsumerIndex, squeeze: Conv) -> _Match | None:
    if not _is_conv(squeeze, (1, 1), (0, 0)):
        return None
    squeeze_relu = _relu_after(readers, squeeze)
    if squeeze_relu is None or squeeze_relu.outputs[0] in graph.outputs:
        return None
    expands = readers.consumers(squeeze_relu.outputs[0])
    if len(expands) != 2:
        return None
    e1 = next((n for n in expands if _is_conv(n, (1, 1), (0, 0))), None)
    e3 = next((n for n in expands if _is_conv(n, (3, 3), (1, 1))), None)
    if e1 is None or e3 is None or e1 is e3:
        return None
    assert isinstance(e1, Conv) and isinstance(e3, Conv)
    relu1, relu3 = _relu_after(readers, e1), _relu_after(readers, e3)
    if relu1 is None or relu3 is None:
        return None
    concat = readers.sole_consumer(relu1.outputs[0])
    if (
        not isinstance(concat, Concat)
        or concat.axis != 1
        or concat.inputs != [relu1.outputs[0], relu3.outputs[0]]
        or readers.sole_consumer(relu3.outputs[0]) is not concat
    ):
        return None
    return _Match(squeeze, squeeze_relu, e1, relu1, e3, relu3, concat)


def fuse_fire(graph: Graph) -> int:
    """Replace every exact Fire pattern by a Fire node; returns how many were fused. Linear in the
    graph's size: who reads what is indexed once, and the node list rebuilt once at the end."""
    readers = ConsumerIndex(graph)
    gone: set[int] = set()  # ids of the nodes now inside a Fire
    fires: dict[int, Fire] = {}  # id of a fused Concat -> the Fire taking its place
    for node in graph.nodes:
        if id(node) in gone or not isinstance(node, Conv):
            continue
        match = _match(graph, readers, node)
        if match is None:
            continue
        squeeze, squeeze_relu, e1, relu1, e3, relu3, concat = match
        internal = [tensor for n in match[:-1] for tensor in n.outputs]
        # Sub-convolutions own the post-ReLU names of their Caffe blobs.
        squeeze.outputs, e1.outputs, e3.outputs = squeeze_relu.outputs, relu1.outputs, relu3.outputs
        fire = Fire(
            name=_fire_name([squeeze.name, e1.name, e3.name, concat.name]),
            inputs=list(squeeze.inputs),
            outputs=list(concat.outputs),
            squeeze=squeeze,
            expand1x1=e1,
            expand3x3=e3,
        )
        for tensor in dict.fromkeys(squeeze.inputs):
            readers.replace(tensor, squeeze, fire)
        fires[id(concat)] = fire
        gone.update(id(n) for n in match)
        for tensor in internal:
            del graph.tensors[tensor]
    if fires:
        graph.nodes = [fires.get(id(n), n) for n in graph.nodes if id(n) not in gone or id(n) in fires]
    return len(fires)
