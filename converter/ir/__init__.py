"""The canonical IR: a graph of small typed op nodes over named tensors with static shapes.

The IR knows nothing of Caffe's file formats nor of ONNX or PyTorch. Tensors carry `sources`, the
Caffe (layer, top) pairs whose value they hold, so every survivor can be checked against Caffe.
"""

from converter.ir.graph import Graph, Tensor
from converter.ir.ops import (
    Abs,
    BatchNorm,
    Bias,
    Concat,
    Conv,
    ConvTranspose,
    Dense,
    Eltwise,
    Elu,
    Exp,
    Fire,
    Flatten,
    Identity,
    InvalidNode,
    Log,
    Lrn,
    Node,
    Pool,
    Power,
    PRelu,
    Relu,
    Reshape,
    RoiPool,
    Scale,
    Sigmoid,
    Slice,
    Softmax,
    Tanh,
    Unpool,
)

__all__ = [
    "Abs", "BatchNorm", "Bias", "Concat", "Conv", "ConvTranspose", "Dense", "Elu", "Eltwise", "Exp",
    "Fire", "Flatten", "Graph", "Identity", "InvalidNode", "Log", "Lrn", "Node", "Pool", "Power", "PRelu", "Relu",
    "Reshape", "RoiPool", "Scale", "Sigmoid", "Slice", "Softmax", "Tanh", "Tensor", "Unpool",
]
