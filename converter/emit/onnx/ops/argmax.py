"""ArgMax -> TopK on the axis reversed: ONNX's TopK puts the lower index of equal values first, the
IR wants the higher, so the axis is flipped (Slice with step -1) and each index i mapped back to
size - 1 - i. Without an axis, each sample is flattened first and the result assembled into
(N, 1 or 2, top_k, 1, ...): indices, then values."""


from converter.emit.onnx import proto
from converter.emit.onnx.registry import Context, converts
from converter.ir import ArgMax

INT64_MIN = -(2**63)


@converts(ArgMax)
def argmax(node: ArgMax, ctx: Context) -> None:
    x, y, name = node.inputs[0], node.outputs[0], node.name
    source, axis = x, node.axis
    if axis is None:
        source, axis = ctx.tensor(f"{y}/flat"), 1
        ctx.node("Flatten", [x], [source], f"{name}/flatten", axis=1)
        size = 1
        for d in ctx.shape(x)[1:]:
            size *= d
    else:
        size = ctx.shape(x)[axis]
    flipped, values, order = (ctx.tensor(f"{y}/{part}") for part in ("flipped", "values", "order"))
    ctx.node("Slice", [source, ctx.ints(f"{name}.flip_start", [-1]), ctx.ints(f"{name}.flip_end", [INT64_MIN]),
                       ctx.ints(f"{name}.flip_axis", [axis]), ctx.ints(f"{name}.flip_step", [-1])],
             [flipped], f"{name}/flip")
    ctx.node("TopK", [flipped, ctx.ints(f"{name}.k", [node.top_k])], [values, order], f"{name}/topk", axis=axis,
             largest=1, sorted=1)
    if node.axis is not None and node.out_max_val:
        ctx.node("Identity", [values], [y], name)
        return
    reversed_index, indices = ctx.tensor(f"{y}/index"), ctx.tensor(f"{y}/indices")
    ctx.node("Sub", [ctx.ints(f"{name}.last", [size - 1]), order], [reversed_index], f"{name}/unflip")
    last = node.axis is not None
    ctx.node("Cast", [reversed_index], [y if last else indices], name if last else f"{name}/float",
             to=proto.FLOAT)
    if last:
        return
    parts = [indices, values] if node.out_max_val else [indices]
    stacked = ctx.tensor(f"{y}/stacked")
    ctx.node("Concat", parts, [stacked], f"{name}/stack", axis=1)
    target = [0, len(parts), node.top_k] + [1] * (len(ctx.shape(y)) - 3)
    ctx.node("Reshape", [stacked, ctx.ints(f"{name}.shape", target)], [y], name)
