"""IR -> ONNX. One small function per IR op, registered in `CONVERTERS`; knows nothing of Caffe.

The batch dimension is symbolic ("N"); tensor names are the IR's, node names the IR node's (parts
of a node get "<name>/<part>"), weights are initializers "<node>.weight", "<node>.bias", ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from converter.fileio import progress
from converter.ir import (
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
    Graph,
    Identity,
    Log,
    Lrn,
    Node,
    Pool,
    Power,
    PRelu,
    Relu,
    Reshape,
    Scale,
    Sigmoid,
    Slice,
    Softmax,
    Tanh,
)

DEFAULT_OPSET = 17


@dataclass
class Context:
    graph: Graph
    opset: int
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    weights: list[tuple[str, np.ndarray]] = field(default_factory=list)
    names: set[str] = field(default_factory=set)

    def node(self, op: str, inputs: Sequence[str], outputs: Sequence[str], name: str, **attrs: object) -> None:
        self.nodes.append(helper.make_node(op, list(inputs), list(outputs), name=name, **attrs))

    def const(self, name: str, value: np.ndarray, dtype: type = np.float32) -> str:
        name = self.unique(name)
        self.weights.append((name, np.ascontiguousarray(value, dtype=dtype)))
        return name

    def unique(self, name: str) -> str:
        candidate, n = name, 1
        while candidate in self.names or candidate in self.graph.tensors:
            n += 1
            candidate = f"{name}#{n}"
        self.names.add(candidate)
        return candidate

    def rank(self, tensor: str) -> int:
        return len(self.graph.tensors[tensor].shape)


Converter = Callable[[Node, Context], None]
CONVERTERS: dict[type[Node], Converter] = {}


def converts(kind: type[Node]) -> Callable[[Converter], Converter]:
    def register(function: Converter) -> Converter:
        CONVERTERS[kind] = function
        return function

    return register


def _broadcast(value: np.ndarray, axis: int, rank: int) -> np.ndarray:
    """A per-dims constant shaped to broadcast against a rank-`rank` tensor from `axis` on."""
    shape = tuple(value.shape) if value.ndim else (1,)
    return value.reshape(shape + (1,) * (rank - axis - len(shape)))


def _conv_like(op: str, node: Conv | ConvTranspose, ctx: Context, x: str, y: str, name: str) -> None:
    inputs = [x, ctx.const(f"{name}.weight", node.weight)]
    if node.bias is not None:
        inputs.append(ctx.const(f"{name}.bias", node.bias))
    ph, pw = node.pad
    ctx.node(op, inputs, [y], name, kernel_shape=list(node.kernel), strides=list(node.stride),
             pads=[ph, pw, ph, pw], dilations=list(node.dilation), group=node.group)


@converts(Conv)
def conv(node: Conv, ctx: Context) -> None:
    _conv_like("Conv", node, ctx, node.inputs[0], node.outputs[0], node.name)


@converts(ConvTranspose)
def conv_transpose(node: ConvTranspose, ctx: Context) -> None:
    _conv_like("ConvTranspose", node, ctx, node.inputs[0], node.outputs[0], node.name)


@converts(Fire)
def fire(node: Fire, ctx: Context) -> None:
    squeezed = node.squeeze.outputs[0]
    for part, source in ((node.squeeze, node.inputs[0]), (node.expand1x1, squeezed), (node.expand3x3, squeezed)):
        raw = ctx.unique(f"{part.outputs[0]}/conv")
        _conv_like("Conv", part, ctx, source, raw, part.name)
        ctx.names.add(part.outputs[0])
        ctx.node("Relu", [raw], part.outputs, f"{part.name}/relu")
    ctx.node("Concat", [node.expand1x1.outputs[0], node.expand3x3.outputs[0]], node.outputs, f"{node.name}/concat",
             axis=1)


@converts(Pool)
def pool(node: Pool, ctx: Context) -> None:
    x, y = node.inputs[0], node.outputs[0]
    if node.global_pool:
        ctx.node("GlobalMaxPool" if node.kind == "max" else "GlobalAveragePool", [x], [y], node.name)
        return
    (ph, pw), (eh, ew) = node.pad, node.extra_end
    attrs = {"kernel_shape": list(node.kernel), "strides": list(node.stride)}
    if node.kind == "max":
        if ph + eh < node.kernel[0] and pw + ew < node.kernel[1]:
            ctx.node("MaxPool", [x], [y], node.name, pads=[ph, pw, ph + eh, pw + ew], **attrs)
            return
        padded = ctx.unique(f"{y}/padded")
        pads = ctx.const(f"{node.name}.pads", np.array([0, 0, ph, pw, 0, 0, ph + eh, pw + ew]), np.int64)
        fill = ctx.const(f"{node.name}.fill", np.array(-np.inf), np.float32)
        ctx.node("Pad", [x, pads, fill], [padded], f"{node.name}/pad")
        ctx.node("MaxPool", [padded], [y], node.name, **attrs)
        return
    # Average: pad cells count in the divisor, the round-up's extra cells do not.
    source = x
    if ph or pw:
        source = ctx.unique(f"{y}/padded")
        pads = ctx.const(f"{node.name}.pads", np.array([0, 0, ph, pw, 0, 0, ph, pw]), np.int64)
        ctx.node("Pad", [x, pads], [source], f"{node.name}/pad")
    ctx.node("AveragePool", [source], [y], node.name, pads=[0, 0, eh, ew], count_include_pad=0, **attrs)


@converts(Relu)
def relu(node: Relu, ctx: Context) -> None:
    if node.negative_slope:
        ctx.node("LeakyRelu", node.inputs, node.outputs, node.name, alpha=float(node.negative_slope))
    else:
        ctx.node("Relu", node.inputs, node.outputs, node.name)


@converts(PRelu)
def prelu(node: PRelu, ctx: Context) -> None:
    rank = ctx.rank(node.inputs[0])
    slope = node.slope.reshape(-1)
    slope = slope.reshape(1) if slope.size == 1 else _broadcast(slope, 1, rank).reshape(slope.size, *(1,) * (rank - 2))
    ctx.node("PRelu", [node.inputs[0], ctx.const(f"{node.name}.slope", slope)], node.outputs, node.name)


@converts(Elu)
def elu(node: Elu, ctx: Context) -> None:
    ctx.node("Elu", node.inputs, node.outputs, node.name, alpha=float(node.alpha))


@converts(Sigmoid)
def sigmoid(node: Sigmoid, ctx: Context) -> None:
    ctx.node("Sigmoid", node.inputs, node.outputs, node.name)


@converts(Tanh)
def tanh(node: Tanh, ctx: Context) -> None:
    ctx.node("Tanh", node.inputs, node.outputs, node.name)


@converts(Abs)
def abs_(node: Abs, ctx: Context) -> None:
    ctx.node("Abs", node.inputs, node.outputs, node.name)


def _affine(node: Node, ctx: Context, scale: float, shift: float) -> str:
    """shift + scale * x, skipping identity parts; returns the tensor holding it."""
    x = node.inputs[0]
    if scale != 1:
        scaled = ctx.unique(f"{node.outputs[0]}/scaled")
        ctx.node("Mul", [x, ctx.const(f"{node.name}.scale", np.array(scale))], [scaled], f"{node.name}/scale")
        x = scaled
    if shift != 0:
        shifted = ctx.unique(f"{node.outputs[0]}/shifted")
        ctx.node("Add", [x, ctx.const(f"{node.name}.shift", np.array(shift))], [shifted], f"{node.name}/shift")
        x = shifted
    return x


@converts(Power)
def power(node: Power, ctx: Context) -> None:
    x = _affine(node, ctx, node.scale, node.shift)
    if node.power == 1:
        ctx.node("Identity", [x], node.outputs, node.name)
    else:
        ctx.node("Pow", [x, ctx.const(f"{node.name}.power", np.array(node.power))], node.outputs, node.name)


@converts(Exp)
def exp(node: Exp, ctx: Context) -> None:
    scale = node.scale * (np.log(node.base) if node.base is not None else 1.0)
    x = _affine(node, ctx, float(scale), float(node.shift * (np.log(node.base) if node.base else 1.0)))
    ctx.node("Exp", [x], node.outputs, node.name)


@converts(Log)
def log(node: Log, ctx: Context) -> None:
    x = _affine(node, ctx, node.scale, node.shift)
    if node.base is None:
        ctx.node("Log", [x], node.outputs, node.name)
        return
    ln = ctx.unique(f"{node.outputs[0]}/ln")
    ctx.node("Log", [x], [ln], f"{node.name}/ln")
    ctx.node("Mul", [ln, ctx.const(f"{node.name}.inv_ln_base", np.array(1.0 / np.log(node.base)))], node.outputs,
             node.name)


@converts(Lrn)
def lrn(node: Lrn, ctx: Context) -> None:
    x, y = node.inputs[0], node.outputs[0]
    if node.across_channels:
        # ONNX LRN: x / (bias + alpha/size * sum x^2)^beta, the same convention as Caffe's.
        ctx.node("LRN", [x], [y], node.name, size=node.size, alpha=float(node.alpha), beta=float(node.beta),
                 bias=float(node.k))
        return
    # Caffe's WITHIN_CHANNEL: x / (1 + alpha/size^2 * sum over a size x size window of x^2)^beta; k unused.
    square, mean, denom = (ctx.unique(f"{y}/{part}") for part in ("square", "mean", "denom"))
    ctx.node("Mul", [x, x], [square], f"{node.name}/square")
    pad = (node.size - 1) // 2
    ctx.node("AveragePool", [square], [mean], f"{node.name}/window", kernel_shape=[node.size, node.size],
             pads=[pad, pad, pad, pad], count_include_pad=1)
    scaled, base = ctx.unique(f"{y}/scaled"), ctx.unique(f"{y}/base")
    ctx.node("Mul", [mean, ctx.const(f"{node.name}.alpha", np.array(node.alpha))], [scaled], f"{node.name}/alpha")
    ctx.node("Add", [scaled, ctx.const(f"{node.name}.one", np.array(1.0))], [base], f"{node.name}/one")
    ctx.node("Pow", [base, ctx.const(f"{node.name}.beta", np.array(node.beta))], [denom], f"{node.name}/beta")
    ctx.node("Div", [x, denom], [y], node.name)


@converts(BatchNorm)
def batch_norm(node: BatchNorm, ctx: Context) -> None:
    channels = node.mean.size
    ctx.node("BatchNormalization",
             [node.inputs[0], ctx.const(f"{node.name}.gamma", np.ones(channels)),
              ctx.const(f"{node.name}.beta", np.zeros(channels)), ctx.const(f"{node.name}.mean", node.mean),
              ctx.const(f"{node.name}.var", node.var)], node.outputs, node.name, epsilon=float(node.eps))


def _operand(ctx: Context, node: Node, value: np.ndarray | None, index: int, label: str, axis: int) -> str:
    rank = ctx.rank(node.inputs[0])
    if value is not None:
        return ctx.const(f"{node.name}.{label}", _broadcast(value, axis, rank))
    other = node.inputs[index]
    other_shape = ctx.graph.tensors[other].shape
    trailing = rank - axis - len(other_shape)
    if trailing == 0:
        return other
    shaped = ctx.unique(f"{other}/{node.name}")
    target = ctx.const(f"{node.name}.{label}_shape", np.array([*([0] * len(other_shape)), *([1] * trailing)]), np.int64)
    ctx.node("Reshape", [other, target], [shaped], f"{node.name}/{label}_shape")
    return shaped


@converts(Scale)
def scale(node: Scale, ctx: Context) -> None:
    gamma = _operand(ctx, node, node.gamma, 1, "gamma", node.axis)
    if node.beta is None:
        ctx.node("Mul", [node.inputs[0], gamma], node.outputs, node.name)
        return
    scaled = ctx.unique(f"{node.outputs[0]}/scaled")
    ctx.node("Mul", [node.inputs[0], gamma], [scaled], f"{node.name}/mul")
    beta = ctx.const(f"{node.name}.beta", _broadcast(node.beta, node.axis, ctx.rank(node.inputs[0])))
    ctx.node("Add", [scaled, beta], node.outputs, node.name)


@converts(Bias)
def bias(node: Bias, ctx: Context) -> None:
    ctx.node("Add", [node.inputs[0], _operand(ctx, node, node.beta, 1, "beta", node.axis)], node.outputs, node.name)


@converts(Eltwise)
def eltwise(node: Eltwise, ctx: Context) -> None:
    if node.op == "max":
        ctx.node("Max", node.inputs, node.outputs, node.name)
    elif node.op == "prod":
        acc = node.inputs[0]
        for i, other in enumerate(node.inputs[1:], start=1):
            out = node.outputs[0] if i == len(node.inputs) - 1 else ctx.unique(f"{node.outputs[0]}/{i}")
            ctx.node("Mul", [acc, other], [out], node.name if out == node.outputs[0] else f"{node.name}/{i}")
            acc = out
    else:
        terms = []
        for i, x in enumerate(node.inputs):
            coeff = node.coeffs[i] if i < len(node.coeffs) else 1.0
            if coeff == 1.0:
                terms.append(x)
                continue
            term = ctx.unique(f"{node.outputs[0]}/term{i}")
            ctx.node("Mul", [x, ctx.const(f"{node.name}.coeff{i}", np.array(coeff))], [term], f"{node.name}/coeff{i}")
            terms.append(term)
        ctx.node("Sum", terms, node.outputs, node.name)


@converts(Concat)
def concat(node: Concat, ctx: Context) -> None:
    ctx.node("Concat", node.inputs, node.outputs, node.name, axis=node.axis)


@converts(Slice)
def slice_(node: Slice, ctx: Context) -> None:
    sizes = ctx.const(f"{node.name}.sizes", np.array(node.sizes), np.int64)
    ctx.node("Split", [node.inputs[0], sizes], node.outputs, node.name, axis=node.axis)


@converts(Flatten)
def flatten(node: Flatten, ctx: Context) -> None:
    rank = ctx.rank(node.inputs[0])
    end = node.end_axis % rank
    if end == rank - 1 and node.axis == 1:
        ctx.node("Flatten", node.inputs, node.outputs, node.name, axis=1)
        return
    shape = ctx.graph.tensors[node.outputs[0]].shape
    target = [0] * node.axis + [-1] + list(shape[node.axis + 1:])
    ctx.node("Reshape", [node.inputs[0], ctx.const(f"{node.name}.shape", np.array(target), np.int64)], node.outputs,
             node.name)


@converts(Reshape)
def reshape(node: Reshape, ctx: Context) -> None:
    shape = ctx.const(f"{node.name}.shape", np.array(node.shape), np.int64)
    ctx.node("Reshape", [node.inputs[0], shape], node.outputs, node.name)


@converts(Dense)
def dense(node: Dense, ctx: Context) -> None:
    x, y = node.inputs[0], node.outputs[0]
    out_shape = ctx.graph.tensors[y].shape
    flat = ctx.unique(f"{y}/flat")
    ctx.node("Flatten", [x], [flat], f"{node.name}/flatten", axis=node.axis)
    inputs = [flat, ctx.const(f"{node.name}.weight", node.weight)]
    if node.bias is not None:
        inputs.append(ctx.const(f"{node.name}.bias", node.bias))
    if node.axis == 1:
        ctx.node("Gemm", inputs, [y], node.name, transB=1)
        return
    product = ctx.unique(f"{y}/gemm")
    ctx.node("Gemm", inputs, [product], f"{node.name}/gemm", transB=1)
    target = ctx.const(f"{node.name}.shape", np.array([-1, *out_shape[1:]]), np.int64)
    ctx.node("Reshape", [product, target], [y], node.name)


@converts(Softmax)
def softmax(node: Softmax, ctx: Context) -> None:
    ctx.node("Softmax", node.inputs, node.outputs, node.name, axis=node.axis)


@converts(Identity)
def identity(node: Identity, ctx: Context) -> None:
    for out in node.outputs:
        ctx.node("Identity", node.inputs, [out], node.name if len(node.outputs) == 1 else f"{node.name}/{out}")


def _value_info(graph: Graph, name: str) -> onnx.ValueInfoProto:
    shape = graph.tensors[name].shape
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", *shape[1:]] if shape else [])


EXTERNAL_DATA_THRESHOLD = 2**31 - 2**24  # protobuf cannot parse a message of 2 GiB or more

_DTYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64,
           np.dtype(np.uint8): TensorProto.UINT8}


@dataclass
class OnnxModel:
    """An emitted model kept as its graph skeleton plus the weight arrays (views, not copies).

    `to_proto()` builds the whole ModelProto in memory; `save()` streams the arrays to disk.
    """

    skeleton: onnx.ModelProto
    weights: list[tuple[str, np.ndarray]]

    def to_proto(self) -> onnx.ModelProto:
        model = onnx.ModelProto()
        model.CopyFrom(self.skeleton)
        model.graph.initializer.extend(numpy_helper.from_array(a, name) for name, a in self.weights)
        return model

    @property
    def weight_bytes(self) -> int:
        return sum(a.nbytes for _, a in self.weights)

    def save(self, path: Path, external_threshold: int = EXTERNAL_DATA_THRESHOLD) -> None:
        """Write atomically. Past `external_threshold` bytes of weights (protobuf's 2 GB limit) the
        weights go to `<file>.data` beside it as ONNX external data."""
        from converter.fileio import atomic_output

        path = Path(path)
        if self.weight_bytes >= external_threshold:
            self._save_external(path, atomic_output)
            return
        with atomic_output(path) as f, progress(self.weight_bytes, f"writing {path.name}") as bar:
            f.write(self.skeleton.SerializeToString())
            for name, array in self.weights:
                _write_initializer(f, name, array)
                bar.update(array.nbytes)

    def _save_external(self, path: Path, atomic_output: Callable) -> None:
        data_name = f"{path.name}.data"
        model = onnx.ModelProto()
        model.CopyFrom(self.skeleton)
        offset = 0
        with atomic_output(path.with_name(data_name)) as data:
            for name, array in self.weights:
                padding = -offset % 64
                data.write(b"\0" * padding)
                offset += padding
                _write_chunked(data, _le_bytes(array))
                tensor = _tensor_header(name, array)
                tensor.data_location = TensorProto.EXTERNAL
                for key, value in (("location", data_name), ("offset", str(offset)), ("length", str(array.nbytes))):
                    entry = tensor.external_data.add()
                    entry.key, entry.value = key, value
                model.graph.initializer.append(tensor)
                offset += array.nbytes
        with atomic_output(path) as f:
            f.write(model.SerializeToString())


def _tensor_header(name: str, array: np.ndarray) -> onnx.TensorProto:
    return TensorProto(name=name, data_type=_DTYPES[array.dtype], dims=array.shape)


def _le_bytes(array: np.ndarray) -> memoryview:
    return memoryview(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))).cast("B")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def _write_initializer(f: BinaryIO, name: str, array: np.ndarray) -> None:
    """Append `ModelProto{graph{initializer{...}}}`: protobuf merges repeated occurrences of the
    graph field on parse, so the file reads as one model, and the array goes to disk uncopied."""
    header = _tensor_header(name, array).SerializeToString()
    raw_key = bytes([9 << 3 | 2])  # TensorProto.raw_data
    tensor_size = len(header) + 1 + len(_varint(array.nbytes)) + array.nbytes
    initializer = bytes([5 << 3 | 2]) + _varint(tensor_size)  # GraphProto.initializer
    f.write(bytes([7 << 3 | 2]) + _varint(len(initializer) + tensor_size))  # ModelProto.graph
    f.write(initializer + header + raw_key + _varint(array.nbytes))
    _write_chunked(f, _le_bytes(array))


def _write_chunked(f: BinaryIO, data: memoryview, chunk: int = 1 << 24) -> None:
    # Page-sized chunks from the memory-mapped source are ~3x faster than one giant write.
    for start in range(0, len(data), chunk):
        f.write(data[start : start + chunk])


def build_onnx(graph: Graph, opset: int = DEFAULT_OPSET, extra_outputs: Sequence[str] = ()) -> OnnxModel:
    if not 13 <= opset <= 21:
        raise ValueError(f"opset {opset} is not supported (13..21)")
    ctx = Context(graph, opset, names=set(graph.tensors))
    for node in graph.nodes:
        CONVERTERS[type(node)](node, ctx)
    outputs = [*graph.outputs, *(t for t in extra_outputs if t not in graph.outputs)]
    onnx_graph = helper.make_graph(ctx.nodes, graph.name, [_value_info(graph, t) for t in graph.inputs],
                                   [_value_info(graph, t) for t in outputs])
    model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="squeeze-convert", doc_string=f"{graph.name}, converted from Caffe")
    model.ir_version = min(onnx.IR_VERSION, 10)
    helper.set_model_props(model, dict(graph.metadata))
    return OnnxModel(model, ctx.weights)


def emit_onnx(graph: Graph, opset: int = DEFAULT_OPSET, extra_outputs: Sequence[str] = ()) -> onnx.ModelProto:
    """The whole model in memory (weights copied in); `build_onnx(...).save()` streams instead."""
    return build_onnx(graph, opset, extra_outputs).to_proto()


def save_onnx(model: onnx.ModelProto | OnnxModel, path: Path,
              external_threshold: int = EXTERNAL_DATA_THRESHOLD) -> None:
    if isinstance(model, onnx.ModelProto):
        weights = [(t.name, numpy_helper.to_array(t)) for t in model.graph.initializer]
        skeleton = onnx.ModelProto()
        skeleton.CopyFrom(model)
        del skeleton.graph.initializer[:]
        model = OnnxModel(skeleton, weights)
    model.save(Path(path), external_threshold)
