"""What the ONNX and the PyTorch emitter tests share: tiny hand-built IR graphs, random inputs, the
loop comparing a backend's outputs with an oracle, and the oracles too long to write twice.

Every oracle here is written from the IR op's docstring (numpy loops, or torch.nn.functional where
that is the textbook definition) or from the Caffe fork's C++ (interp_loop), never from emitter code.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from converter.ir import Conv, ConvTranspose, Eltwise, Fire, Graph, Node, Pool, RoiPool, Unpool, ops
from converter.ir.graph import Shape, Tensor
from converter.ir.ops import Pair

Oracle = Callable[..., Sequence[np.ndarray] | np.ndarray]
Runner = Callable[[Mapping[str, np.ndarray]], Mapping[str, np.ndarray]]


def graph_of(nodes: Node | Sequence[Node], shapes: Mapping[str, Shape], inputs: Sequence[str] | None = None,
             outputs: Sequence[str] | None = None, name: str = "test") -> Graph:
    """A graph of `nodes` with the tensors of `shapes`; inputs/outputs default to the first node's
    inputs and the last node's outputs."""
    nodes = [nodes] if isinstance(nodes, Node) else list(nodes)
    return Graph(
        name=name,
        inputs=list(inputs if inputs is not None else nodes[0].inputs),
        outputs=list(outputs if outputs is not None else nodes[-1].outputs),
        nodes=nodes,
        tensors={t: Tensor(t, tuple(s)) for t, s in shapes.items()},
    )


def ir_op_classes() -> set[type[Node]]:
    """Every op class the IR defines (its private bases, such as _ConvLike, are no ops)."""
    return {cls for name, cls in inspect.getmembers(ops, inspect.isclass)
            if issubclass(cls, Node) and cls is not Node and cls.__module__ == ops.__name__
            and not name.startswith("_")}


def rand(shape: Shape, seed: int = 0, low: float = -2.0, high: float = 2.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def with_batch(shape: Shape, batch: int) -> Shape:
    return (batch, *shape[1:])


def compare_outputs(graph: Graph, run: Runner, oracle: Oracle, *, batches: Sequence[int],
                    inputs: Mapping[str, Callable[[Shape, int], np.ndarray]] | None, rtol: float, atol: float) -> None:
    """For each batch size, feed `run` random inputs (or `inputs[name](shape, seed)`) and compare every
    graph output it returns (float32, by name) with `oracle(*input arrays)`."""
    for batch in batches:
        feeds = {}
        for i, name in enumerate(graph.inputs):
            shape = with_batch(graph.shape(name), batch)
            make = (inputs or {}).get(name, lambda s, seed: rand(s, seed))
            feeds[name] = make(shape, 10 * batch + i)
        got = run(feeds)
        want = oracle(*feeds.values())
        want = [want] if isinstance(want, np.ndarray) else list(want)
        assert len(want) == len(graph.outputs)
        for name, expected in zip(graph.outputs, want, strict=True):
            actual = got[name]
            assert actual.dtype == np.float32, f"{name}: {actual.dtype}"
            assert actual.shape == expected.shape, f"{name} (batch {batch}): {actual.shape} != {expected.shape}"
            np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=f"{name}, batch {batch}")


def pool_loop(x: np.ndarray, kind: str, kernel: Pair, stride: Pair, pad: Pair, extra: Pair) -> np.ndarray:
    """The IR docstring: windows over the input padded by `pad` each side and `extra` at the end,
    floor-rounded; max over input cells only (-FLT_MAX when there are none); average = input sum /
    cells inside input or `pad` border."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (eh, ew) = kernel, stride, pad, extra
    oh, ow = (h + 2 * ph + eh - kh) // sh + 1, (w + 2 * pw + ew - kw) // sw + 1
    y = np.empty((n, c, oh, ow), np.float32)
    for i in range(oh):
        for j in range(ow):
            values, counted = [], 0
            for a in range(i * sh - ph, i * sh - ph + kh):
                for b in range(j * sw - pw, j * sw - pw + kw):
                    if -ph <= a < h + ph and -pw <= b < w + pw:
                        counted += 1
                    if 0 <= a < h and 0 <= b < w:
                        values.append(x[:, :, a, b].astype(np.float64))
            if kind == "max":
                y[:, :, i, j] = np.max(values, axis=0) if values else np.finfo(np.float32).min
            else:
                y[:, :, i, j] = np.sum(values, axis=0) / counted
    return y


def pool_graph(kind: str, hw: Pair, kernel: Pair, stride: Pair, pad: Pair = (0, 0), extra: Pair = (0, 0),
               name: str = "pool1") -> tuple[Pool, Graph]:
    node = Pool(name=name, inputs=["data"], outputs=[f"{name}/out"], kind=kind, kernel=kernel, stride=stride,
                pad=pad, extra_end=extra)
    out = tuple((n + 2 * p + e - k) // s + 1 for n, k, s, p, e in zip(hw, kernel, stride, pad, extra, strict=True))
    return node, graph_of(node, {"data": (2, 3, *hw), node.outputs[0]: (2, 3, *out)})


def max_pool_mask_loop(x: np.ndarray, kernel: Pair, stride: Pair, pad: Pair, extra: Pair,
                       global_pool: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The IR Pool docstring for a max Pool with a mask, cell by cell: over each window's input cells
    (padding excluded) in row-major order, the maximum (-FLT_MAX when there are none) and the index
    h * W + w of its first cell, -1 when no cell is above -FLT_MAX."""
    n, c, h, w = x.shape
    if global_pool:
        kernel, stride, pad, extra = (h, w), (1, 1), (0, 0), (0, 0)
    (kh, kw), (sh, sw), (ph, pw), (eh, ew) = kernel, stride, pad, extra
    oh, ow = (h + 2 * ph + eh - kh) // sh + 1, (w + 2 * pw + ew - kw) // sw + 1
    lowest = np.finfo(np.float32).min
    top = np.full((n, c, oh, ow), lowest, np.float32)
    mask = np.full((n, c, oh, ow), -1, np.float32)
    for a in range(n):
        for b in range(c):
            for i in range(oh):
                for j in range(ow):
                    cells = [(row, col) for row in range(i * sh - ph, i * sh - ph + kh)
                             for col in range(j * sw - pw, j * sw - pw + kw) if 0 <= row < h and 0 <= col < w]
                    values = [x[a, b, row, col] for row, col in cells]
                    if values:
                        top[a, b, i, j] = max(values)
                    if values and max(values) > lowest:
                        first = values.index(max(values))
                        mask[a, b, i, j] = cells[first][0] * w + cells[first][1]
    return top, mask


def max_pool_mask_graph(hw: Pair, kernel: Pair, stride: Pair, pad: Pair = (0, 0), extra: Pair = (0, 0),
                        global_pool: bool = False) -> tuple[Pool, Graph]:
    node = Pool(name="pool1", inputs=["data"], outputs=["pool1/out", "pool1/mask"], kind="max", kernel=kernel,
                stride=stride, pad=pad, extra_end=extra, global_pool=global_pool)
    if global_pool:
        out: tuple[int, ...] = (1, 1)
    else:
        out = tuple((n + 2 * p + e - k) // s + 1 for n, k, s, p, e in zip(hw, kernel, stride, pad, extra, strict=True))
    shape = (2, 3, *out)
    return node, graph_of(node, {"data": (2, 3, *hw), "pool1/out": shape, "pool1/mask": shape})


def tied_values(shape: Shape, seed: int) -> np.ndarray:
    """Few distinct values (many equal maxima in a window), some -FLT_MAX (never above -FLT_MAX)."""
    x = np.random.default_rng(seed).integers(-2, 3, shape).astype(np.float32)
    x.flat[::5] = np.finfo(np.float32).min
    return x


# (input hw, kernel, stride, pad, extra_end, global) of a max Pool with a mask
MASK_CASES = {
    "k3s2_round_up": ((7, 7), (3, 3), (2, 2), (0, 0), (1, 1), False),
    "k2s2": ((6, 6), (2, 2), (2, 2), (0, 0), (0, 0), False),
    "padded": ((5, 6), (3, 3), (2, 2), (1, 1), (0, 1), False),
    "rectangular": ((5, 7), (3, 2), (1, 3), (1, 1), (0, 0), False),
    # kernel 1, stride 2 on 4: the last window holds extra cells only (explicit padding in ONNX)
    "window_of_padding_only": ((4, 4), (1, 1), (2, 2), (0, 0), (1, 1), False),
    "pad_as_large_as_the_kernel": ((5, 5), (2, 2), (3, 3), (2, 2), (0, 0), False),
    "global": ((4, 5), (4, 5), (1, 1), (0, 0), (0, 0), True),
}


# (input hw, kernel, stride, pad, extra_end): each the IR form of a ceil-rounded pooling that
# PyTorch's ceil_mode=True reproduces.
CEIL_CASES = {
    "k3s2_6x6_overflow": ((6, 6), (3, 3), (2, 2), (0, 0), (1, 1)),
    "k3s2_pad1_with_extra": ((6, 6), (3, 3), (2, 2), (1, 1), (1, 1)),
    "k3s2_pad1_clipped_no_extra": ((5, 5), (3, 3), (2, 2), (1, 1), (0, 0)),
    "k3s3_pad1_last_window_dropped": ((5, 5), (3, 3), (3, 3), (1, 1), (0, 0)),
    "rectangular": ((8, 5), (3, 2), (2, 1), (1, 0), (1, 0)),
    "squeezenet_113": ((113, 113), (3, 3), (2, 2), (0, 0), (1, 1)),
}


def fire_node(cin: int = 4, s1: int = 2, e1: int = 3, e3: int = 5, name: str = "fire2", bias: bool = True) -> Fire:
    def conv(part: str, cout: int, cin: int, k: int, seed: int) -> Conv:
        return Conv(name=f"{name}/{part}", inputs=[], outputs=[f"{name}/{part}"], weight=rand((cout, cin, k, k), seed),
                    bias=rand((cout,), seed + 1) if bias else None, pad=(k // 2, k // 2))

    return Fire(name=name, inputs=["x"], outputs=[f"{name}/concat"], squeeze=conv("squeeze1x1", s1, cin, 1, 1),
                expand1x1=conv("expand1x1", e1, s1, 1, 3), expand3x3=conv("expand3x3", e3, s1, 3, 5))


def torch_fire(fire: Fire, x: np.ndarray) -> np.ndarray:
    """conv2d + relu (squeeze), then conv2d + relu for each expand, concatenated [1x1, 3x3]."""
    def conv_relu(conv: Conv, t: torch.Tensor) -> torch.Tensor:
        bias = torch.from_numpy(conv.bias) if conv.bias is not None else None
        return F.relu(F.conv2d(t, torch.from_numpy(conv.weight), bias, padding=conv.pad))

    s = conv_relu(fire.squeeze, torch.from_numpy(x))
    return torch.cat([conv_relu(fire.expand1x1, s), conv_relu(fire.expand3x3, s)], dim=1).numpy()


def lrn_within_loop(x: np.ndarray, size: int, alpha: float, beta: float) -> np.ndarray:
    """Within-channel LRN: x / (1 + alpha/size^2 * sum of x^2 over the zero-padded size x size window)^beta."""
    n, c, h, w = x.shape
    half = (size - 1) // 2
    y = np.empty_like(x)
    for i in range(h):
        for j in range(w):
            window = x[:, :, max(i - half, 0) : i + half + 1, max(j - half, 0) : j + half + 1].astype(np.float64)
            total = (window**2).sum(axis=(2, 3))
            y[:, :, i, j] = x[:, :, i, j] / (1 + alpha / (size * size) * total) ** beta
    return y


# (in channels, hw, out, kernel, stride, pad, dilation, group, bias)
ConvCase = tuple[int, Pair, int, Pair, Pair, Pair, Pair, int, bool]
CONV_CASES: dict[str, ConvCase] = {
    "plain_3x3": (3, (7, 7), 4, (3, 3), (1, 1), (0, 0), (1, 1), 1, True),
    "stride_pad": (3, (8, 6), 5, (3, 3), (2, 2), (1, 1), (1, 1), 1, True),
    "rect_kernel_no_bias": (2, (6, 7), 3, (1, 3), (1, 2), (0, 1), (1, 1), 1, False),
    "dilation": (2, (9, 9), 2, (3, 3), (1, 1), (2, 2), (2, 2), 1, True),
    "group": (4, (5, 5), 6, (3, 3), (1, 1), (1, 1), (1, 1), 2, True),
    "depthwise": (4, (5, 5), 4, (3, 3), (2, 2), (1, 1), (1, 1), 4, True),
}
CONV_TRANSPOSE_CASES: dict[str, ConvCase] = {
    "upsample_2x": (3, (4, 5), 2, (4, 4), (2, 2), (1, 1), (1, 1), 1, True),
    "stride3_no_bias": (2, (3, 3), 3, (3, 2), (3, 2), (0, 0), (1, 1), 1, False),
    "dilation": (2, (4, 4), 2, (3, 3), (1, 1), (1, 1), (2, 2), 1, True),
    "group": (4, (3, 4), 6, (3, 3), (2, 2), (1, 1), (1, 1), 2, True),
}


def conv_graph(case: ConvCase, *, transpose: bool = False, name: str = "conv1", source: str = "x",
               output: str = "y") -> tuple[Conv | ConvTranspose, Graph, Oracle]:
    """A Conv (or ConvTranspose) node of `case` with seeded weights, its graph, and
    torch.nn.functional.conv2d (conv_transpose2d) with the same arguments as oracle."""
    cin, (h, w), cout, (kh, kw), stride, pad, dil, group, has_bias = case
    weight = rand((cin, cout // group, kh, kw) if transpose else (cout, cin // group, kh, kw), 1)
    bias = rand((cout,), 2) if has_bias else None
    kind = ConvTranspose if transpose else Conv
    node = kind(name=name, inputs=[source], outputs=[output], weight=weight, bias=bias, stride=stride, pad=pad,
                dilation=dil, group=group)
    dims = list(zip((h, w), (kh, kw), stride, pad, dil, strict=True))
    if transpose:
        out = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, k, s, p, d in dims]
    else:
        out = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in dims]
    graph = graph_of(node, {source: (2, cin, h, w), output: (2, cout, *out)})

    def oracle(x: np.ndarray) -> np.ndarray:
        t, wt = torch.from_numpy(x), torch.from_numpy(weight)
        b = torch.from_numpy(bias) if bias is not None else None
        if transpose:
            return F.conv_transpose2d(t, wt, b, stride, pad, 0, group, dil).numpy()
        return F.conv2d(t, wt, b, stride, pad, dil, group).numpy()

    return node, graph, oracle


def conv_loop(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: Pair, pad: Pair, extra: Pair,
              dilation: Pair, group: int) -> np.ndarray:
    """The IR Conv docstring: zero pad by `pad` each side and `extra` at the bottom/right, then one
    window per floor-rounded step, summing weight * input over the group's channels."""
    n, c, h, w = x.shape
    m, cg, kh, kw = weight.shape
    xp = np.zeros((n, c, h + 2 * pad[0] + extra[0], w + 2 * pad[1] + extra[1]))
    xp[:, :, pad[0] : pad[0] + h, pad[1] : pad[1] + w] = x
    oh = (xp.shape[2] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (xp.shape[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((n, m, oh, ow))
    for o in range(m):
        first = o // (m // group) * cg
        for i in range(oh):
            for j in range(ow):
                rows = slice(i * stride[0], i * stride[0] + dilation[0] * (kh - 1) + 1, dilation[0])
                cols = slice(j * stride[1], j * stride[1] + dilation[1] * (kw - 1) + 1, dilation[1])
                window = xp[:, first : first + cg, rows, cols]
                y[:, o, i, j] = (window * weight[o]).sum(axis=(1, 2, 3)) + (bias[o] if bias is not None else 0)
    return y.astype(np.float32)


# (in channels, hw, out, kernel, stride, pad, extra_end, dilation, group, bias): a kernel overhanging
# the padded input, as the lift expresses Caffe's truncated output size.
END_PADDED_CONV_CASES = {
    "k3s2_on_2x2": (3, (2, 2), 4, (3, 3), (2, 2), (0, 0), (1, 1), (1, 1), 1, True),
    "h_only_rect": (2, (4, 9), 3, (5, 3), (3, 2), (0, 0), (1, 0), (1, 1), 1, True),
    "with_pad_grouped": (4, (3, 3), 6, (7, 7), (3, 3), (1, 1), (2, 2), (1, 1), 2, False),
    "dilated": (2, (5, 6), 2, (3, 3), (4, 4), (0, 0), (2, 1), (3, 3), 1, True),
}


def end_padded_conv_graph(case: tuple, name: str = "conv1") -> tuple[Conv, Graph, Oracle]:
    """A Conv with `extra_end` from END_PADDED_CONV_CASES, its graph and conv_loop as oracle."""
    cin, (h, w), cout, kernel, stride, pad, extra, dilation, group, has_bias = case
    weight = rand((cout, cin // group, *kernel), 1)
    bias = rand((cout,), 2) if has_bias else None
    node = Conv(name=name, inputs=["x"], outputs=["y"], weight=weight, bias=bias, stride=stride, pad=pad,
                extra_end=extra, dilation=dilation, group=group)
    out = [(n + 2 * p + e - d * (k - 1) - 1) // s + 1
           for n, k, s, p, e, d in zip((h, w), kernel, stride, pad, extra, dilation, strict=True)]
    graph = graph_of(node, {"x": (2, cin, h, w), "y": (2, cout, *out)})
    return node, graph, lambda x: conv_loop(x, weight, bias, stride, pad, extra, dilation, group)


def batch_statistics_norm(x: np.ndarray, eps: float) -> np.ndarray:
    """The IR BatchNorm docstring with batch statistics, one channel at a time in float64: mean and
    biased variance over every dim but 1 (a 1-D input is one channel)."""
    if x.ndim == 1:
        return ((x - x.mean()) / np.sqrt(x.var() + eps)).astype(np.float32)
    y = np.empty(x.shape, np.float64)
    for c in range(x.shape[1]):
        values = x[:, c].astype(np.float64)
        mean = values.sum() / values.size
        var = ((values - mean) ** 2).sum() / values.size
        y[:, c] = (values - mean) / np.sqrt(var + eps)
    return y.astype(np.float32)


def batch_moment_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """The IR BatchMomentNorm docstring, one channel at a time in float64: raw moments over every dim
    but 1, var = E[x^2] - E[x]^2, then the channel's factor and addend."""
    y = np.empty(x.shape, np.float64)
    for c in range(x.shape[1]):
        values = x[:, c].astype(np.float64)
        m1 = values.sum() / values.size
        var = (values * values).sum() / values.size - m1 * m1
        y[:, c] = (values - m1) / np.sqrt(var + eps) * gamma[c] + beta[c]
    return y.astype(np.float32)


def eltwise_graph(op: str, n: int, coeffs: list[float] | None = None, shape: Shape = (2, 3, 4, 5)) -> Graph:
    """Eltwise `op` over inputs in0..in<n-1> of one shape."""
    names = [f"in{i}" for i in range(n)]
    node = Eltwise(name="elt", inputs=names, outputs=["y"], op=op, coeffs=coeffs or [])
    return graph_of(node, {**dict.fromkeys(names, shape), "y": shape})


def global_pool_graph(kind: str) -> tuple[Graph, Oracle]:
    """Global max/avg pooling of a 2x4x5x3 input, and numpy's max/mean over H, W as oracle."""
    node = Pool(name="gp", inputs=["x"], outputs=["y"], kind=kind, kernel=(0, 0), stride=(1, 1), global_pool=True)
    reduce = np.max if kind == "max" else np.mean
    return graph_of(node, {"x": (2, 4, 5, 3), "y": (2, 4, 1, 1)}), lambda x: reduce(x, axis=(2, 3), keepdims=True)


def detection_loop(loc: np.ndarray, conf: np.ndarray, prior: np.ndarray, node: ops.DetectionOutput) -> np.ndarray:
    """The IR DetectionOutput docstring, one box at a time in float32 scalars: decode, candidates
    (score > threshold, stable descending, first top_k), greedy keep with the adaptive threshold,
    keep_top_k over each image (ties: lower class, earlier kept), rows by image, class, kept order."""
    f = np.float32
    n, c = loc.shape[0], node.num_classes
    p = prior.shape[2] // 4
    n_loc = 1 if node.share_location else c
    corners, variances = prior.reshape(2, p, 4)

    def decode(image: int, j: int, cls: int) -> list[np.float32]:
        d = [f(v) for v in loc[image].reshape(p, n_loc, 4)[j, cls]]
        if not node.variance_encoded_in_target:
            d = [f(variances[j][i] * d[i]) for i in range(4)]
        x0, y0, x1, y1 = (f(v) for v in corners[j])
        if node.code_type == "corner":
            return [f(x0 + d[0]), f(y0 + d[1]), f(x1 + d[2]), f(y1 + d[3])]
        w, h = f(x1 - x0), f(y1 - y0)
        if node.code_type == "corner_size":
            return [f(x0 + f(d[0] * w)), f(y0 + f(d[1] * h)), f(x1 + f(d[2] * w)), f(y1 + f(d[3] * h))]
        with np.errstate(over="ignore", invalid="ignore"):
            cx, cy = f(f(d[0] * w) + f(f(x0 + x1) * f(0.5))), f(f(d[1] * h) + f(f(y0 + y1) * f(0.5)))
            half_w, half_h = f(f(np.exp(d[2]) * w) * f(0.5)), f(f(np.exp(d[3]) * h) * f(0.5))
            return [f(cx - half_w), f(cy - half_h), f(cx + half_w), f(cy + half_h)]

    def size(b: list[np.float32]) -> np.float32:
        with np.errstate(over="ignore", invalid="ignore"):
            return f(0) if b[2] < b[0] or b[3] < b[1] else f(f(b[2] - b[0]) * f(b[3] - b[1]))

    def overlap(a: list[np.float32], b: list[np.float32]) -> np.float32:
        if b[0] > a[2] or b[2] < a[0] or b[1] > a[3] or b[3] < a[1]:
            return f(0)
        with np.errstate(over="ignore", invalid="ignore"):
            iw, ih = f(min(a[2], b[2]) - max(a[0], b[0])), f(min(a[3], b[3]) - max(a[1], b[1]))
            if not (iw > 0 and ih > 0):
                return f(0)
            inter = f(iw * ih)
            return f(inter / f(f(size(a) + size(b)) - inter))

    rows = []
    for image in range(n):
        kept: list[tuple[int, int, np.float32, list[np.float32]]] = []  # (class, rank, score, box)
        for cls in range(c):
            if cls == node.background_label_id:
                continue
            scores = conf[image].reshape(p, c)[:, cls]
            order = sorted((j for j in range(p) if scores[j] > f(node.confidence_threshold)), key=lambda j: -scores[j])
            if node.top_k >= 0:
                order = order[: node.top_k]
            limit, mine = f(node.nms_threshold), []
            for j in order:
                box = decode(image, j, 0 if node.share_location else cls)
                if all(overlap(box, other) <= limit for other in mine):
                    mine.append(box)
                    kept.append((cls, len(mine), scores[j], box))
                    if node.eta < 1 and limit > 0.5:
                        limit = f(limit * f(node.eta))
        if -1 < node.keep_top_k < len(kept):
            kept = sorted(kept, key=lambda row: -row[2])[: node.keep_top_k]
            kept.sort(key=lambda row: (row[0], row[1]))
        rows += [[image, cls, score, *box] for cls, _, score, box in kept]
    if not rows:
        return np.array([[i, -1, -1, -1, -1, -1, -1] for i in range(n)], np.float32).reshape(1, 1, n, 7)
    return np.array(rows, np.float32).reshape(1, 1, -1, 7)


def detection_case(n: int, p: int, c: int, seed: int, *, share_location: bool = True,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """loc, conf (softmaxed over classes) and priors (boxes inside the unit square, variances
    0.1/0.2) for `n` images, `p` priors, `c` classes."""
    rng = np.random.default_rng(seed)
    n_loc = 1 if share_location else c
    loc = rng.normal(0, 1, (n, p * n_loc * 4)).astype(np.float32)
    logits = rng.normal(0, 2, (n, p, c))
    conf = (np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)).astype(np.float32).reshape(n, p * c)
    centre = rng.uniform(0.2, 0.8, (p, 2))
    half = rng.uniform(0.05, 0.3, (p, 2))
    corners = np.concatenate([centre - half, centre + half], axis=1)
    variances = np.tile([0.1, 0.1, 0.2, 0.2], (p, 1))
    return loc, conf, np.stack([corners, variances]).astype(np.float32).reshape(1, 2, p * 4)


# name: (DetectionOutput attributes, images, priors, classes, seed)
DETECTION_CASES: dict[str, tuple[dict, int, int, int, int]] = {
    "center_size_keep_top_k": (dict(num_classes=4, code_type="center_size", confidence_threshold=0.1,
                                    nms_threshold=0.45, top_k=12, keep_top_k=9), 2, 40, 4, 1),
    "per_class_boxes_corner_eta": (dict(num_classes=3, share_location=False, code_type="corner",
                                        background_label_id=1, nms_threshold=0.9, eta=0.7, top_k=-1,
                                        keep_top_k=-1), 2, 25, 3, 2),
    "corner_size_encoded_variance": (dict(num_classes=3, code_type="corner_size", variance_encoded_in_target=True,
                                          confidence_threshold=0.2, nms_threshold=0.3, top_k=30, keep_top_k=50),
                                     1, 30, 3, 3),
    "no_background_no_threshold": (dict(num_classes=2, code_type="center_size", background_label_id=-1,
                                        nms_threshold=0.5, top_k=8, keep_top_k=5), 3, 20, 2, 4),
    "nothing_above_threshold": (dict(num_classes=3, code_type="center_size", confidence_threshold=0.999),
                                2, 10, 3, 5),
}



def decode_bbox(prior_box: Sequence[float], variance: Sequence[float], code_type: str, encoded: bool,
                d: Sequence[float]) -> list[np.float32]:
    """The fork's DecodeBBox (bbox_util.cpp) for one box, in float32 scalars; `/ 2.` in double."""
    f = np.float32
    x0, y0, x1, y1 = (f(v) for v in prior_box)
    v = [f(1)] * 4 if encoded else [f(x) for x in variance]
    d = [f(x) for x in d]
    if code_type == "corner":
        return [f(x0 + f(v[0] * d[0])), f(y0 + f(v[1] * d[1])), f(x1 + f(v[2] * d[2])), f(y1 + f(v[3] * d[3]))]
    width, height = f(x1 - x0), f(y1 - y0)
    if code_type == "corner_size":
        return [f(x0 + f(f(v[0] * d[0]) * width)), f(y0 + f(f(v[1] * d[1]) * height)),
                f(x1 + f(f(v[2] * d[2]) * width)), f(y1 + f(f(v[3] * d[3]) * height))]
    center_x, center_y = f(np.float64(f(x0 + x1)) / 2.0), f(np.float64(f(y0 + y1)) / 2.0)
    with np.errstate(over="ignore", invalid="ignore"):
        cx, cy = f(f(f(v[0] * d[0]) * width) + center_x), f(f(f(v[1] * d[1]) * height) + center_y)
        w, h = f(np.exp(f(v[2] * d[2])) * width), f(np.exp(f(v[3] * d[3])) * height)
        return [f(cx - np.float64(w) / 2.0), f(cy - np.float64(h) / 2.0), f(cx + np.float64(w) / 2.0),
                f(cy + np.float64(h) / 2.0)]


def refinedet_loop(loc: np.ndarray, conf: np.ndarray, prior: np.ndarray, arm_conf: np.ndarray,
                   arm_loc: np.ndarray | None, node: ops.DetectionOutput) -> np.ndarray:
    """RefineDet's DetectionOutputLayer::Forward_cpu (sfzhang15/RefineDet), per image:
    OSGetConfidenceScores (a prior whose arm_conf[p * 2 + 1] < objectness_score scores 1.0 for
    class 0 and 0.0 for every other class, else its conf row), CasRegDecodeBBoxesAll (arm_loc decoded
    against each prior with DecodeBBox gives the refined prior, which keeps the prior's variances),
    then the SSD fork's ApplyNMSFast / keep_top_k / rows on those (detection_loop, one image at a
    time, with the refined priors in place of the priors); no detection in any image: N rows of -1."""
    n, c = loc.shape[0], node.num_classes
    p = prior.shape[2] // 4
    corners, variances = prior.reshape(2, p, 4)
    rows = []
    for image in range(n):
        scores = conf[image].reshape(p, c).copy()
        for j in range(p):
            if arm_conf[image][j * 2 + 1] < np.float32(node.objectness_score):
                scores[j] = [1.0] + [0.0] * (c - 1)
        refined = corners if arm_loc is None else np.array(
            [decode_bbox(corners[j], variances[j], node.code_type, node.variance_encoded_in_target,
                         arm_loc[image][j * 4:j * 4 + 4]) for j in range(p)], np.float32)
        image_prior = np.stack([refined, variances]).astype(np.float32).reshape(1, 2, p * 4)
        found = detection_loop(loc[image:image + 1], scores.reshape(1, p * c), image_prior, node).reshape(-1, 7)
        rows += [[image, *row[1:]] for row in found if row[1] != -1]
    if not rows:
        return np.array([[i, -1, -1, -1, -1, -1, -1] for i in range(n)], np.float32).reshape(1, 1, n, 7)
    return np.array(rows, np.float32).reshape(1, 1, -1, 7)


def refinedet_case(n: int, p: int, c: int, seed: int) -> tuple[np.ndarray, ...]:
    """detection_case's loc, conf, priors plus RefineDet's arm_conf (softmaxed pairs, (n, p * 2); a
    third of the priors below 0.3 objectness, one NaN) and arm_loc (n, p * 4)."""
    loc, conf, prior = detection_case(n, p, c, seed)
    rng = np.random.default_rng(seed + 100)
    logits = rng.normal(0, 1.5, (n, p, 2))
    arm_conf = (np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)).astype(np.float32)
    arm_conf[0, 1, 1] = np.nan
    arm_loc = rng.normal(0, 0.7, (n, p * 4)).astype(np.float32)
    return loc, conf, prior, arm_conf.reshape(n, p * 2), arm_loc


# name: (DetectionOutput attributes, images, priors, classes, seed, arm bottoms used: 1 or 2)
REFINEDET_CASES: dict[str, tuple[dict, int, int, int, int, int]] = {
    "center_size_keep_top_k": (dict(num_classes=4, code_type="center_size", confidence_threshold=0.05,
                                    nms_threshold=0.45, top_k=20, keep_top_k=15, objectness_score=0.3),
                               2, 30, 4, 7, 2),
    # No confidence threshold: the filtered priors' zero scores are candidates too, and with the
    # background at label 2 their 1.0 for class 0 is a detection.
    "corner_size_no_threshold_background_2": (dict(num_classes=3, code_type="corner_size", background_label_id=2,
                                                   nms_threshold=0.5, top_k=12, keep_top_k=-1,
                                                   objectness_score=0.4), 2, 20, 3, 8, 2),
    "corner_eta_filter_only": (dict(num_classes=3, code_type="corner", confidence_threshold=0.1,
                                    nms_threshold=0.9, eta=0.8, objectness_score=0.5), 2, 25, 3, 9, 1),
}


def refinedet_inputs(case: tuple) -> tuple[ops.DetectionOutput, list[np.ndarray]]:
    """A REFINEDET_CASES entry as its node and inputs (loc, conf, prior, arm_conf[, arm_loc]); the
    first image's third prior has an objectness of exactly objectness_score (not below it: kept)."""
    attributes, n, p, c, seed, arm = case
    names = ["loc", "conf", "prior", "arm_conf", "arm_loc"][:3 + arm]
    node = ops.DetectionOutput(name="detection_out", inputs=names, outputs=["det"], **attributes)
    inputs = list(refinedet_case(n, p, c, seed)[:3 + arm])
    inputs[3][0, 2 * 2 + 1] = np.float32(node.objectness_score)
    return node, inputs


def refinedet_graph(node: ops.DetectionOutput, inputs: Sequence[np.ndarray]) -> Graph:
    """The node alone, its inputs the graph's, output "det"."""
    shapes = {name: value.shape for name, value in zip(node.inputs, inputs, strict=True)}
    return graph_of(node, {**shapes, "det": (1, 1, 1, 7)}, inputs=node.inputs)


def assert_refinedet_detections(actual: np.ndarray, node: ops.DetectionOutput, inputs: list[np.ndarray]) -> None:
    """The rows are refinedet_loop's, row for row, and differ from what the SSD fork gives without
    the ARM bottoms (so the case exercises them)."""
    loc, conf, prior, arm_conf, *arm_loc = inputs
    expected = refinedet_loop(loc, conf, prior, arm_conf, arm_loc[0] if arm_loc else None, node)
    assert actual.dtype == np.float32 and actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)
    plain = detection_loop(loc, conf, prior, node)
    assert plain.shape != expected.shape or not np.allclose(plain, expected)

NORMALIZE_CASES = {  # (shape, scale: () shared or (C,), across_spatial, eps)
    "per_position_per_channel": ((2, 3, 4, 5), np.linspace(1, 3, 3, dtype=np.float32), False, 1e-10),
    "across_shared": ((2, 3, 4, 5), np.array(20.0, np.float32), True, 1e-10),
    "across_per_channel_3d": ((2, 4, 6), np.linspace(1, 3, 4, dtype=np.float32), True, 1e-3),
    "per_position_2d_big_eps": ((2, 5), np.array(20.0, np.float32), False, 0.5),
}


def normalize_loop(x: np.ndarray, scale: np.ndarray, across: bool, eps: float) -> np.ndarray:
    """The IR Normalize docstring per image in float64: across space or per position, times the scale."""
    y = np.empty(x.shape)
    for n in range(x.shape[0]):
        image = x[n].astype(np.float64).reshape(x.shape[1], -1)
        if across:
            out = image / np.sqrt((image**2).sum() + eps)
        else:
            out = np.stack([image[:, j] / np.sqrt((image[:, j] ** 2).sum() + eps) for j in range(image.shape[1])], 1)
        factor = scale.reshape(-1, 1) if scale.ndim else scale
        y[n] = (out * factor).reshape(x.shape[1:])
    return y.astype(np.float32)


def tied_detection_case() -> tuple[ops.DetectionOutput, np.ndarray, np.ndarray, np.ndarray]:
    """Four far-apart priors, classes 1 and 2 (0 background) both scoring every prior 0.3, keep_top_k
    5 of the 8 equal scores: class 1's four (lower class first, prior order), then class 2's prior 0."""
    corners = [[x, x, x + 0.1, x + 0.1] for x in (0.1, 0.3, 0.5, 0.7)]
    prior = np.array([corners, [[0.1, 0.1, 0.2, 0.2]] * 4], np.float32).reshape(1, 2, 16)
    conf = np.tile(np.float32([0.4, 0.3, 0.3]), 4).reshape(1, 12)
    node = ops.DetectionOutput(name="detection_out", inputs=["loc", "conf", "prior"], outputs=["det"], num_classes=3,
                               code_type="center_size", nms_threshold=0.45, keep_top_k=5)
    return node, np.zeros((1, 16), np.float32), conf, prior


def infinite_boxes_case() -> tuple[ops.DetectionOutput, np.ndarray, np.ndarray, np.ndarray]:
    """exp overflows for every third prior: boxes (-inf, -inf, inf, inf) whose overlap with each other
    is inf / nan = nan, which is not <= the threshold: only the first of them is kept."""
    attributes, _, p, c, seed = DETECTION_CASES["center_size_keep_top_k"]
    loc, conf, prior = detection_case(1, p, c, seed)
    loc.reshape(p, 4)[::3, 2:] = 1e4
    node = ops.DetectionOutput(name="detection_out", inputs=["loc", "conf", "prior"], outputs=["det"],
                               **{**attributes, "keep_top_k": -1, "top_k": -1})
    return node, loc, conf, prior


def detection_inputs(case: tuple) -> tuple[ops.DetectionOutput, np.ndarray, np.ndarray, np.ndarray]:
    """A DETECTION_CASES entry as its node and inputs."""
    attributes, n, p, c, seed = case
    node = ops.DetectionOutput(name="detection_out", inputs=["loc", "conf", "prior"], outputs=["det"], **attributes)
    return (node, *detection_case(n, p, c, seed, share_location=node.share_location))


EDGE_DETECTION_CASES = {"ties": tied_detection_case, "infinite_boxes": infinite_boxes_case}


def assert_detections(actual: np.ndarray, node: ops.DetectionOutput, loc: np.ndarray, conf: np.ndarray,
                      prior: np.ndarray) -> None:
    """The emitted rows are detection_loop's, row for row; the edge cases' loop results are also
    pinned down by hand (ties: labels [1, 1, 1, 1, 2] at x 0.1, 0.3, 0.5, 0.7, 0.1)."""
    expected = detection_loop(loc, conf, prior, node)
    assert actual.dtype == np.float32 and actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)
    if node.keep_top_k == 5 and prior.shape == (1, 2, 16):
        np.testing.assert_array_equal(expected[0, 0, :, 1], [1, 1, 1, 1, 2])
        np.testing.assert_allclose(expected[0, 0, :, 3], [0.1, 0.3, 0.5, 0.7, 0.1], rtol=1e-6)


def unpool_loop(x: np.ndarray, mask: np.ndarray, out_hw: Pair) -> np.ndarray:
    """The IR Unpool docstring cell by cell: a zero plane, then out[int(mask[i])] = x[i] for every
    input cell i in row-major order (so the last of repeated indices stays)."""
    n, c, h, w = x.shape
    out = np.zeros((n, c, out_hw[0] * out_hw[1]), np.float32)
    for a in range(n):
        for b in range(c):
            for i in range(h * w):
                out[a, b, int(mask[a, b].reshape(-1)[i])] = x[a, b].reshape(-1)[i]
    return out.reshape(n, c, *out_hw)


def unpool_after_pool_graph(hw: Pair, kernel: Pair, stride: Pair) -> Graph:
    """A max Pool with a mask, then Unpool of the pooled values by that mask back to `hw`."""
    _, graph = max_pool_mask_graph(hw, kernel, stride)
    unpool = Unpool(name="unpool1", inputs=["pool1/out", "pool1/mask"], outputs=["unpool1/out"], out_hw=hw)
    graph.nodes.append(unpool)
    graph.outputs = ["unpool1/out"]
    graph.tensors["unpool1/out"] = Tensor("unpool1/out", (2, 3, *hw))
    return graph


def repeating_mask(out_hw: Pair) -> Callable[[Shape, int], np.ndarray]:
    """Random masks with many repeated indices, all within an `out_hw` plane."""
    def make(shape: Shape, seed: int) -> np.ndarray:
        return np.random.default_rng(seed).integers(0, 5, shape).astype(np.float32) * (out_hw[0] * out_hw[1] // 5)
    return make


def unpool_graph(in_hw: Pair, out_hw: Pair) -> Graph:
    node = Unpool(name="unpool1", inputs=["x", "mask"], outputs=["y"], out_hw=out_hw)
    return graph_of(node, {"x": (2, 3, *in_hw), "mask": (2, 3, *in_hw), "y": (2, 3, *out_hw)})


def roi_pool_loop(x: np.ndarray, rois: np.ndarray, pooled: Pair, spatial_scale: float) -> np.ndarray:
    """The IR RoiPool docstring, bin by bin and cell by cell (float32 bin sizes, C's round)."""
    def c_round(v: np.float32) -> int:
        return int(np.floor(abs(float(v)) + 0.5)) * (1 if v >= 0 else -1)

    _, c, h, w = x.shape
    rois = rois.reshape(-1, 5)
    out = np.zeros((len(rois), c, *pooled), np.float32)
    lowest = np.finfo(np.float32).min
    for r, roi in enumerate(rois):
        item = int(roi[0])
        x1, y1, x2, y2 = (c_round(v * np.float32(spatial_scale)) for v in roi[1:])
        bin_h = np.float32(max(y2 - y1 + 1, 1)) / np.float32(pooled[0])
        bin_w = np.float32(max(x2 - x1 + 1, 1)) / np.float32(pooled[1])
        for i in range(pooled[0]):
            rows = range(min(max(int(np.floor(np.float32(i) * bin_h)) + y1, 0), h),
                         min(max(int(np.ceil(np.float32(i + 1) * bin_h)) + y1, 0), h))
            for j in range(pooled[1]):
                cols = range(min(max(int(np.floor(np.float32(j) * bin_w)) + x1, 0), w),
                             min(max(int(np.ceil(np.float32(j + 1) * bin_w)) + x1, 0), w))
                for ch in range(c):
                    best = lowest if len(rows) and len(cols) else 0.0
                    for a in rows:
                        for b in cols:
                            best = max(best, x[item, ch, a, b])
                    out[r, ch, i, j] = best
    return out


# Rois (image coordinates) over a 2-item batch of 8x10 feature maps at spatial_scale 0.5: inside,
# half-way corners (5 * 0.5 = 2.5 rounds to 3, -9 * 0.5 to -5), partly and wholly outside the image
# (empty bins), reversed corners (a 1x1 roi), the second batch item.
ROIS = np.array([[0, 0, 0, 19, 15], [1, 3, 5, 9, 13], [0, 5, 5, 5, 5], [1, -9, -7, 4, 3], [0, 18, 14, 40, 40],
                 [1, 12, 8, 2, 1], [0, 60, 60, 70, 70], [1, 2.5, 1.5, 7.5, 6.5]], np.float32)


def roi_pool_graph(pooled: Pair = (3, 2), spatial_scale: float = 0.5) -> Graph:
    node = RoiPool(name="roi_pool", inputs=["x", "rois"], outputs=["y"], pooled=pooled, spatial_scale=spatial_scale)
    return graph_of(node, {"x": (2, 3, 8, 10), "rois": (len(ROIS), 5), "y": (len(ROIS), 3, *pooled)})


# What py-faster-rcnn's generate_anchors() returns for scales 8, 16, 32, written out by hand from
# its arithmetic (base box (0, 0, 15, 15), widths round(sqrt(256 / ratio)), heights round(w * ratio),
# then times the scale around the centre 7.5): x1, y1, x2, y2. The MATLAB anchors quoted in its
# comment are these plus one (1-based pixels).
FASTER_RCNN_ANCHORS = np.array([[-84, -40, 99, 55], [-176, -88, 191, 103], [-360, -184, 375, 199],
                                [-56, -56, 71, 71], [-120, -120, 135, 135], [-248, -248, 263, 263],
                                [-36, -80, 51, 95], [-80, -168, 95, 183], [-168, -344, 183, 359]], np.float32)


def proposal_loop(scores: np.ndarray, deltas: np.ndarray, im_info: np.ndarray, feat_stride: int = 16,
                  pre_nms_top_n: int = 6000, post_nms_top_n: int = 300, nms_thresh: float = 0.7,
                  min_size: float = 16) -> tuple[np.ndarray, np.ndarray]:
    """py-faster-rcnn's ProposalLayer.forward box by box, in float32: anchors shifted to each cell
    (h, w, a), bbox_transform_inv, clip_boxes, _filter_boxes, sort by score (stable), greedy NMS
    (a box goes when its +1-pixel overlap with a kept box is above nms_thresh): rows [0, box] and
    the kept boxes' scores as a column."""
    f32 = np.float32
    one, half = f32(1), f32(0.5)
    _, channels, height, width = scores.shape
    count = channels // 2
    im_h, im_w, im_scale = (f32(v) for v in im_info.reshape(-1)[:3])
    candidates = []
    for h in range(height):
        for w in range(width):
            for a in range(count):
                x1, y1, x2, y2 = FASTER_RCNN_ANCHORS[a] + f32([w * feat_stride, h * feat_stride] * 2)
                dx, dy, dw, dh = deltas[0, 4 * a: 4 * a + 4, h, w]
                box_w, box_h = x2 - x1 + one, y2 - y1 + one
                ctr_x, ctr_y = dx * box_w + (x1 + half * box_w), dy * box_h + (y1 + half * box_h)
                pred_w, pred_h = np.exp(dw) * box_w, np.exp(dh) * box_h
                box = [ctr_x - half * pred_w, ctr_y - half * pred_h, ctr_x + half * pred_w, ctr_y + half * pred_h]
                box = [max(min(v, limit - one), f32(0)) for v, limit in zip(box, (im_w, im_h, im_w, im_h), strict=True)]
                smallest = f32(min_size) * im_scale
                if box[2] - box[0] + one >= smallest and box[3] - box[1] + one >= smallest:
                    candidates.append((scores[0, count + a, h, w], box))
    ranked = sorted(candidates, key=lambda c: -c[0])[:pre_nms_top_n]

    def overlap(p: list, q: list) -> np.float32:
        iw = max(f32(0), min(p[2], q[2]) - max(p[0], q[0]) + one)
        ih = max(f32(0), min(p[3], q[3]) - max(p[1], q[1]) + one)
        area_p, area_q = (p[2] - p[0] + one) * (p[3] - p[1] + one), (q[2] - q[0] + one) * (q[3] - q[1] + one)
        return iw * ih / (area_p + area_q - iw * ih)

    kept: list = []
    for score, box in ranked:
        if all(overlap(k[1], box) <= f32(nms_thresh) for k in kept):
            kept.append((score, box))
    kept = kept[:post_nms_top_n]
    return (np.array([[0, *box] for _, box in kept], np.float32).reshape(-1, 5),
            np.array([score for score, _ in kept], np.float32).reshape(-1, 1))


def proposal_inputs(height: int, width: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Foreground/background probabilities (1, 18, H, W) and box deltas (1, 36, H, W)."""
    rng = np.random.default_rng(seed)
    fg = rng.uniform(0, 1, (1, 9, height, width)).astype(np.float32)
    return (np.concatenate([1 - fg, fg], axis=1).astype(np.float32),
            rng.uniform(-0.6, 0.6, (1, 36, height, width)).astype(np.float32))


def argmax_loop(x: np.ndarray, axis: int | None, top_k: int, out_max_val: bool, rank: int = 0) -> np.ndarray:
    """The IR ArgMax docstring, one line of candidates at a time: sort (value, index) pairs
    descending (equal values: higher index first), keep top_k; without an axis each sample is one
    line and the result (N, 1 or 2, top_k) gets trailing 1s up to `rank`."""
    def best(line: np.ndarray) -> list[tuple[float, int]]:
        return sorted(((float(v), i) for i, v in enumerate(line)), reverse=True)[:top_k]

    if axis is None:
        y = np.zeros((x.shape[0], 2 if out_max_val else 1, top_k), np.float32)
        for n in range(x.shape[0]):
            pairs = best(x[n].reshape(-1))
            y[n, 0] = [i for _, i in pairs]
            if out_max_val:
                y[n, 1] = [v for v, _ in pairs]
        return y.reshape(y.shape + (1,) * (max(rank, 3) - 3))
    moved = np.moveaxis(x, axis, -1)
    y = np.zeros(moved.shape[:-1] + (top_k,), np.float32)
    for index in np.ndindex(moved.shape[:-1]):
        pairs = best(moved[index])
        y[index] = [v for v, _ in pairs] if out_max_val else [i for _, i in pairs]
    return np.moveaxis(y, -1, axis)


def interp_loop(x: np.ndarray, out_h: int, out_w: int, pad_beg: int = 0, pad_end: int = 0) -> np.ndarray:
    """The DeepLab/PSPNet fork's caffe_cpu_interp2 (tests/caffe_layers/test_interp.py):
    caffe_cpu_interp2(x1 = y1 = -pad_beg, height1 = H + pad_beg + pad_end, ...), not packed."""
    f32 = np.float32
    top = -pad_beg
    h1, w1 = x.shape[2] + pad_beg + pad_end, x.shape[3] + pad_beg + pad_end
    y = np.empty((*x.shape[:2], out_h, out_w), np.float32)
    if (h1, w1) == (out_h, out_w):
        return x[:, :, top : top + h1, top : top + w1].copy()
    rheight = f32(h1 - 1) / f32(out_h - 1) if out_h > 1 else f32(0)
    rwidth = f32(w1 - 1) / f32(out_w - 1) if out_w > 1 else f32(0)
    for h2 in range(out_h):
        h1r = f32(rheight * f32(h2))
        h = int(h1r)
        hp = 1 if h < h1 - 1 else 0
        h1lambda = f32(h1r - f32(h))
        h0lambda = f32(1) - h1lambda
        for w2 in range(out_w):
            w1r = f32(rwidth * f32(w2))
            w = int(w1r)
            wp = 1 if w < w1 - 1 else 0
            w1lambda = f32(w1r - f32(w))
            w0lambda = f32(1) - w1lambda
            p = x[:, :, top + h, top + w]
            right = x[:, :, top + h, top + w + wp]
            down = x[:, :, top + h + hp, top + w]
            diagonal = x[:, :, top + h + hp, top + w + wp]
            y[:, :, h2, w2] = h0lambda * (w0lambda * p + w1lambda * right) + h1lambda * (w0lambda * down
                                                                                     + w1lambda * diagonal)
    return y


def bilinear_interp_loop(x: np.ndarray, size: Pair, begin: int = 0, end: int = 0) -> np.ndarray:
    """The IR BilinearInterp (`begin`/`end` cells cropped each side, then resized to `size`): the
    fork's Interp loop with pad_beg = -begin, pad_end = -end."""
    return interp_loop(x, size[0], size[1], -begin, -end)


def shuffle_loop(x: np.ndarray, group: int) -> np.ndarray:
    """The IR ShuffleChannel docstring: output channel j * group + i is input channel i * k + j."""
    k = x.shape[1] // group
    y = np.empty_like(x)
    for i in range(group):
        for j in range(k):
            y[:, j * group + i] = x[:, i * k + j]
    return y


# (input shape, axis, offsets, sizes) of a Crop
CROP_CASES = {
    "spatial": ((2, 3, 9, 8), 2, [2, 1], [5, 6]),
    "channels_and_spatial": ((2, 5, 6, 7), 1, [1, 0, 3], [3, 6, 2]),
    "last_axis": ((2, 4, 6), 2, [4], [2]),
}
# (input hw, output size, crop begin, crop end) of a BilinearInterp
INTERP_CASES = {
    "zoom_2": ((5, 7), (9, 13), 0, 0),
    "shrink": ((9, 8), (5, 4), 0, 0),
    "odd_size": ((4, 6), (11, 5), 0, 0),
    "to_one_row": ((5, 6), (1, 4), 0, 0),
    "cropped": ((8, 9), (6, 7), 1, 2),
    "same_size_copy": ((5, 6), (5, 6), 0, 0),
}


def proposal_graph(hw: Pair, pre: int = 6000, post: int = 300, with_scores: bool = False) -> Graph:
    """One py-faster-rcnn Proposal node over an hw feature map (stride 16, the default anchors):
    inputs cls, bbox, im_info; outputs rois (and scores)."""
    from converter.bundled_plugins.py_faster_rcnn import Proposal, base_anchors, shifted_anchors

    outputs = ["rois", "scores"] if with_scores else ["rois"]
    node = Proposal(name="proposal", inputs=["cls", "bbox", "im_info"], outputs=outputs,
                    anchors=shifted_anchors(base_anchors(), *hw, 16), pre_nms_top_n=pre, post_nms_top_n=post)
    return graph_of(node, {"cls": (1, 18, *hw), "bbox": (1, 36, *hw), "im_info": (1, 3), "rois": (post, 5),
                           "scores": (post, 1)})
