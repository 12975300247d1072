"""The canonical IR: a graph of small typed op nodes over named tensors with static shapes.

The IR knows nothing of Caffe's file formats nor of ONNX or PyTorch. Tensors carry `sources`, the
Caffe (layer, top) pairs whose value they hold, so every survivor can be checked against Caffe.
"""

from converter.ir.graph import Graph, Tensor
from converter.ir.ops import (
    Abs,
    ArgMax,
    Axpy,
    BatchMomentNorm,
    BatchNorm,
    Bias,
    BilinearInterp,
    Clip,
    Concat,
    Constant,
    Conv,
    ConvTranspose,
    Crop,
    Dense,
    DetectionOutput,
    Eltwise,
    Elu,
    Exp,
    Fire,
    Flatten,
    Identity,
    InvalidNode,
    Log,
    Lrn,
    NearestUpsample,
    Node,
    Normalize,
    Pool,
    Power,
    PRelu,
    Relu,
    Reshape,
    RoiPool,
    Scale,
    ShuffleChannel,
    Sigmoid,
    Slice,
    Softmax,
    Tanh,
    Transpose,
    Unpool,
)

__all__ = [
    "Abs", "ArgMax", "Axpy", "BatchMomentNorm", "BatchNorm", "Bias", "BilinearInterp", "Clip", "Concat",
    "Constant", "Conv", "ConvTranspose", "Crop", "Dense", "DetectionOutput", "Elu", "Eltwise", "Exp",
    "NearestUpsample", "Normalize",
    "ShuffleChannel", "Fire", "Flatten", "Graph", "Identity", "InvalidNode", "Log", "Lrn", "Node", "Pool", "Power",
    "PRelu", "Relu", "Reshape", "RoiPool", "Scale", "Sigmoid", "Slice", "Softmax", "Tanh", "Tensor", "Transpose",
    "Unpool",
]
