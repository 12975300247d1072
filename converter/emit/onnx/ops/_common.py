"""Helpers shared by several emitters."""

from __future__ import annotations

import numpy as np

from converter.emit.onnx.registry import Context
from converter.ir import Conv, ConvTranspose, Node


def conv_like(op: str, node: Conv | ConvTranspose, ctx: Context, x: str | list[str], y: str | list[str],
              name: str) -> None:
    """A Conv or ConvTranspose node with the IR node's weights as "<name>.weight"/"<name>.bias"; a
    Conv's `extra_end` goes into the end pads (ONNX pads are [top, left, bottom, right]).

    Given several inputs (and as many outputs), one node per pair, all sharing those weights; the
    first is named `name`, the others `name/1`, `name/2`, ...
    """
    xs, ys = ([x], [y]) if isinstance(x, str) and isinstance(y, str) else (list(x), list(y))
    if len(xs) != len(ys):
        raise ValueError(f"{name}: {len(xs)} inputs but {len(ys)} outputs")
    weights = [ctx.const(f"{name}.weight", node.weight)]
    if node.bias is not None:
        weights.append(ctx.const(f"{name}.bias", node.bias))
    (ph, pw), (kh, kw) = node.pad, node.kernel
    eh, ew = node.extra_end if isinstance(node, Conv) else (0, 0)
    for i, (source, target) in enumerate(zip(xs, ys, strict=True)):
        ctx.node(op, [source, *weights], [target], name if i == 0 else f"{name}/{i}", kernel_shape=[kh, kw],
                 strides=list(node.stride), pads=[ph, pw, ph + eh, pw + ew], dilations=list(node.dilation),
                 group=node.group)


def trailing_ones(shape: tuple[int, ...], axis: int, rank: int) -> tuple[int, ...]:
    """`shape` (placed at `axis` of a rank-`rank` tensor) padded with 1s so it broadcasts from the right."""
    axis %= rank
    extra = rank - axis - len(shape)
    if extra < 0:
        raise ValueError(f"a {len(shape)}-D operand at axis {axis} does not fit a {rank}-D tensor")
    return (*shape, *(1,) * extra)


def broadcast(value: np.ndarray, axis: int, rank: int) -> np.ndarray:
    """A constant covering dims axis..axis+k-1, shaped to broadcast against a rank-`rank` tensor."""
    shape = tuple(value.shape) if value.ndim else (1,)
    return value.reshape(trailing_ones(shape, axis, rank))


def operand(ctx: Context, node: Node, value: np.ndarray | None, label: str, axis: int) -> str:
    """Scale/Bias's operand: the constant `value`, or else the node's second input, reshaped with
    trailing 1s (its own dims copied by 0s, so a batch dim stays symbolic) to broadcast at `axis`."""
    rank = ctx.rank(node.inputs[0])
    if value is not None:
        return ctx.const(f"{node.name}.{label}", broadcast(value, axis, rank))
    other = node.inputs[1]
    own = ctx.shape(other)
    target = trailing_ones(own, axis, rank)
    if len(target) == len(own):
        return other
    shaped = ctx.tensor(f"{other}/{node.name}")
    copy_own = [0] * len(own) + [1] * (len(target) - len(own))
    target_name = ctx.ints(f"{node.name}.{label}_shape", copy_own)
    ctx.node("Reshape", [other, target_name], [shaped], f"{node.name}/{label}_shape")
    return shaped


def affine(node: Node, ctx: Context, scale: float, shift: float, final: bool = False) -> str:
    """shift + scale * input, leaving out the parts that are identities; returns the tensor holding it.

    With `final` the result is the node's output (last part named after the node; Identity if no part).
    """
    steps = [(op, label, value) for op, label, value in (("Mul", "scale", scale), ("Add", "shift", shift))
             if value != (1 if op == "Mul" else 0)]
    x = node.inputs[0]
    if final and not steps:
        ctx.node("Identity", [x], node.outputs, node.name)
        return node.outputs[0]
    for i, (op, label, value) in enumerate(steps):
        last = final and i == len(steps) - 1
        out = node.outputs[0] if last else ctx.tensor(f"{node.outputs[0]}/{label}")
        part = node.name if last else f"{node.name}/{label}"
        ctx.node(op, [x, ctx.const(f"{node.name}.{label}", value)], [out], part)
        x = out
    return x


def unary_times(node: Node, ctx: Context, op: str, x: str, label: str, factor: float) -> None:
    """The node's output as `op`(x) * factor, the Mul left out when the factor is 1 (named
    `label` for the intermediate when it is not)."""
    if factor == 1.0:
        ctx.node(op, [x], node.outputs, node.name)
        return
    value = ctx.tensor(f"{node.outputs[0]}/{label}")
    ctx.node(op, [x], [value], f"{node.name}/{label}")
    ctx.node("Mul", [value, ctx.const(f"{node.name}.factor", factor)], node.outputs, node.name)


def resize_sizes(ctx: Context, x: str, size: tuple[int, int], name: str) -> str:
    """Resize's `sizes` input for an NCHW `x` resized to `size`: N and C read from x's Shape, so the
    batch stays symbolic (also for shape inference, which `scales` would lose)."""
    shape, leading, sizes = (ctx.tensor(f"{x}/{name}/{part}") for part in ("shape", "leading", "sizes"))
    ctx.node("Shape", [x], [shape], f"{name}/shape")
    ctx.node("Slice", [shape, ctx.ints(f"{name}.zero", [0]), ctx.ints(f"{name}.two", [2])], [leading],
             f"{name}/leading")
    ctx.node("Concat", [leading, ctx.ints(f"{name}.size", list(size))], [sizes], f"{name}/sizes", axis=0)
    return sizes


def reduce_mean(ctx: Context, x: str, axes: list[int], y: str, name: str) -> None:
    """ReduceMean over `axes`, keeping them: an attribute before opset 18, an input from 18 on."""
    if ctx.opset >= 18:
        ctx.node("ReduceMean", [x, ctx.ints(f"{name}.axes", axes)], [y], name, keepdims=1)
    else:
        ctx.node("ReduceMean", [x], [y], name, axes=axes, keepdims=1)
