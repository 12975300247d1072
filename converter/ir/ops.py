"""IR op nodes. Each states its semantics in its docstring; arrays are float32 numpy.

Spatial attributes are (height, width) pairs. Every node has a `name` (the Caffe layer it came
from, or a name derived from the layers it fuses), input and output tensor names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

Pair = tuple[int, int]
PoolKind = Literal["max", "avg"]
EltwiseOp = Literal["sum", "prod", "max"]


class InvalidNode(ValueError):
    """A node whose attributes contradict each other or its inputs; names the node."""

    def __init__(self, node: str, reason: str) -> None:
        self.node, self.reason = node, reason
        super().__init__(f"{node}: {reason}")


@dataclass(kw_only=True)
class Node:
    name: str
    inputs: list[str]
    outputs: list[str]
    # The outputs' axis that follows the batch (None: none does), and the axes whose size is known
    # only at run time (the graph's shape holds a placeholder there), each with a name for it.
    batch_axis: ClassVar[int | None] = 0
    run_time_dims: ClassVar[dict[int, str]] = {}


@dataclass(kw_only=True)
class _ConvLike(Node):
    """What Conv and ConvTranspose share: weight (..., kh, kw), optional bias (out,) and the geometry."""

    weight: np.ndarray
    bias: np.ndarray | None
    stride: Pair = (1, 1)
    pad: Pair = (0, 0)
    dilation: Pair = (1, 1)
    group: int = 1

    @property
    def kernel(self) -> Pair:
        return (int(self.weight.shape[2]), int(self.weight.shape[3]))


@dataclass(kw_only=True)
class Conv(_ConvLike):
    """2-D cross-correlation: weight (out, in/group, kh, kw), optional bias (out,).

    The input is zero padded by `pad` on each side, then by `extra_end` more zero rows/columns at
    the bottom/right; output size floor((in+2p+e-d(k-1)-1)/s)+1. `extra_end` is how a kernel that
    overhangs the padded input is expressed: Caffe truncates (in+2p-d(k-1)-1)/s toward zero, so an
    overhang smaller than the stride still gives one output, whose taps past the input read zeros.
    With several inputs (all of one shape), each is convolved with the same weights into the
    output at its position.
    """

    extra_end: Pair = (0, 0)

    def __post_init__(self) -> None:
        if min(*self.pad, *self.extra_end) < 0:
            raise InvalidNode(self.name, f"negative pad {self.pad} or extra_end {self.extra_end}")

    @property
    def out_channels(self) -> int:
        return int(self.weight.shape[0])


@dataclass(kw_only=True)
class ConvTranspose(_ConvLike):
    """Transposed convolution: weight (in, out/group, kh, kw), optional bias (out,).

    Output size (in-1)*s - 2p + d(k-1) + 1. Several inputs: as for Conv, one output each.
    """


@dataclass(kw_only=True)
class Pool(Node):
    """Max or average pooling over kernel windows moved by stride.

    The input is padded by `pad` on each side, then by `extra_end` more cells at the bottom/right so
    that floor rounding gives the output size (this is how ceil-rounded outputs are expressed).
    Max ignores all padding; a window holding no input cell gives -FLT_MAX (the float32 minimum),
    not -inf. Average sums over the window and divides by the number of cells that lie inside the
    input or the `pad` border: `extra_end` cells are never counted.
    `global_pool` means one window covering the whole plane (kernel, pad, extra ignored).

    A max Pool may have a second output, the argmax mask: per output cell, h * W + w (W the input
    width, h and w unpadded input coordinates) of the first input cell in row-major order holding
    the window's maximum, as a float; -1 where no input cell of the window is above -FLT_MAX.
    """

    kind: PoolKind
    kernel: Pair
    stride: Pair
    pad: Pair = (0, 0)
    extra_end: Pair = (0, 0)
    global_pool: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("max", "avg"):
            raise InvalidNode(self.name, f"unknown pooling kind {self.kind!r}")
        if min(*self.pad, *self.extra_end) < 0:
            raise InvalidNode(self.name, f"negative pad {self.pad} or extra_end {self.extra_end}")
        if len(self.outputs) > (2 if self.kind == "max" else 1):
            raise InvalidNode(self.name, f"{len(self.outputs)} outputs: {self.kind} pooling gives one"
                                         + (", and an argmax mask" if self.kind == "max" else ""))

    @property
    def mask(self) -> str | None:
        """The argmax mask output, if the node has one."""
        return self.outputs[1] if len(self.outputs) > 1 else None

    def empty_average_axis(self, in_hw: Sequence[int]) -> int | None:
        """For an average over an input plane of `in_hw`: the first axis (0 for H, 1 for W) whose last
        window lies wholly in the `extra_end` cells, which are never counted, so it has nothing to
        average (no value the IR could give); None when every window counts a cell."""
        if self.kind != "avg" or self.global_pool:
            return None
        for axis, (n, k, s, p, e) in enumerate(zip(in_hw, self.kernel, self.stride, self.pad, self.extra_end,
                                                   strict=True)):
            if (n + 2 * p + e - k) // s * s >= n + 2 * p:
                return axis
        return None

    def check_windows(self, in_hw: Sequence[int]) -> None:
        """Refuse an input plane on which an average window has nothing to average."""
        if self.empty_average_axis(in_hw) is not None:
            raise InvalidNode(self.name, f"extra_end {self.extra_end} leaves a window with nothing to average")


@dataclass(kw_only=True)
class Unpool(Node):
    """Max unpooling by an argmax mask: inputs x (N, C, H, W) and mask (N, C, H, W), a float holding
    per cell a flat index h * out_w + w into an (out_h, out_w) plane (as a max Pool's mask output).

    The output (N, C, *out_hw) is 0 except that, per plane (n, c), output[int(mask[i])] = x[i] for
    every input cell i (the mask truncated toward zero); when several cells name one index, the last
    of them in row-major order wins. Every index must lie in [0, out_h * out_w).
    """

    out_hw: Pair

    def __post_init__(self) -> None:
        if len(self.inputs) != 2:
            raise InvalidNode(self.name, f"unpooling takes data and a mask, got {len(self.inputs)} inputs")
        if min(self.out_hw) <= 0:
            raise InvalidNode(self.name, f"output size {self.out_hw} must be positive")


@dataclass(kw_only=True)
class RoiPool(Node):
    """Max pooling of regions of interest (Fast R-CNN's ROIPooling): inputs x (N, C, H, W) and rois
    (R, 5), each row [batch index, x1, y1, x2, y2] in input-image coordinates; output (R, C, *pooled).

    Per roi, in float32: the batch index is truncated toward zero; each coordinate times
    `spatial_scale` is rounded half away from zero to an integer (x1, y1, x2, y2 -> start_w,
    start_h, end_w, end_h); roi_h = max(end_h - start_h + 1, 1), bin_h = roi_h / pooled_h (float32
    division); bin ph covers rows [floor(ph * bin_h), ceil((ph + 1) * bin_h)) shifted by start_h and
    clipped to [0, H] (columns alike). The output is the maximum over the bin's cells, and not below
    -FLT_MAX; a bin that is empty after clipping gives 0.
    """

    pooled: Pair
    spatial_scale: float

    def __post_init__(self) -> None:
        if min(self.pooled) <= 0:
            raise InvalidNode(self.name, f"pooled size {self.pooled} must be positive")


@dataclass(kw_only=True)
class Relu(Node):
    """y = x if x > 0 else negative_slope * x."""

    negative_slope: float = 0.0


@dataclass(kw_only=True)
class PRelu(Node):
    """y = x if x > 0 else slope[c] * x, c the channel (dim 1); slope has shape (channels,), or ()
    (one value for every channel) when shared."""

    slope: np.ndarray


@dataclass(kw_only=True)
class Elu(Node):
    """y = x if x > 0 else alpha * (exp(x) - 1)."""

    alpha: float = 1.0


@dataclass(kw_only=True)
class Sigmoid(Node):
    """y = 1 / (1 + exp(-x))."""


@dataclass(kw_only=True)
class Tanh(Node):
    """y = tanh(x)."""


@dataclass(kw_only=True)
class Abs(Node):
    """y = |x|."""


@dataclass(kw_only=True)
class Power(Node):
    """y = (shift + scale * x) ** power, except that when power or scale is 0 the output is the
    constant 1 (power 0) or shift ** power, whatever x holds (even inf or NaN)."""

    power: float = 1.0
    scale: float = 1.0
    shift: float = 0.0


@dataclass(kw_only=True)
class Exp(Node):
    """y = exp(scale * x) * factor, in float32 and in that order: the factor comes after the
    exponential, so exp(scale * x) overflows to inf whatever the factor."""

    scale: float = 1.0
    factor: float = 1.0


@dataclass(kw_only=True)
class Log(Node):
    """y = ln(scale * x + shift) * factor, in float32 (factor 1 / ln(base) for a logarithm to a base)."""

    scale: float = 1.0
    shift: float = 0.0
    factor: float = 1.0


@dataclass(kw_only=True)
class Lrn(Node):
    """Local response normalisation.

    across_channels: y = x / (k + alpha/size * sum over `size` neighbouring channels of x^2)^beta.
    otherwise: the sum runs over a size x size spatial window (zero padded) and alpha is divided by
    size*size.
    """

    size: int
    alpha: float
    beta: float
    k: float = 1.0
    across_channels: bool = True


@dataclass(kw_only=True)
class BatchNorm(Node):
    """y = (x - mean[c]) / sqrt(var[c] + eps), c the channel (dim 1; a 1-D input is one channel), no
    affine part, computed in that order.

    With stored statistics (`batch_statistics` false) mean and var are given, already unscaled.
    With `batch_statistics` they are None and the input's own are used: per channel, mean is the
    average over every other dim (the batch and all spatial positions) and var the average of
    (x - mean)^2 over the same (biased: divided by their count, not count - 1). Each output then
    depends on the whole batch.
    """

    mean: np.ndarray | None
    var: np.ndarray | None
    eps: float = 1e-5
    batch_statistics: bool = False

    def __post_init__(self) -> None:
        stored = (self.mean is not None, self.var is not None)
        if self.batch_statistics and any(stored):
            raise InvalidNode(self.name, "batch statistics take no stored mean or var")
        if not self.batch_statistics and not all(stored):
            raise InvalidNode(self.name, "stored statistics need both mean and var")


@dataclass(kw_only=True)
class BatchMomentNorm(Node):
    """Normalisation by the batch's own first two raw moments, then a per-channel affine.

    Per channel c (dim 1), over every other dim (the batch and all spatial positions):
    m1 = mean(x), m2 = mean(x * x), var = m2 - m1 * m1 (raw moments, not the centred form: in
    float32 var may differ from BatchNorm's, and a slightly negative one gives NaN),
    y = (x - m1) / sqrt(var + eps) * gamma[c] + beta[c], computed in that order. gamma and beta are
    (C,). Each output depends on the whole batch.
    """

    gamma: np.ndarray
    beta: np.ndarray
    eps: float

    def __post_init__(self) -> None:
        if np.shape(self.gamma) != np.shape(self.beta) or np.ndim(self.gamma) != 1:
            raise InvalidNode(self.name, f"gamma and beta must be two (C,) vectors, got shapes "
                                         f"{np.shape(self.gamma)} and {np.shape(self.beta)}")


@dataclass(kw_only=True)
class Scale(Node):
    """y = x * gamma + beta, gamma/beta shaped like x's dims axis..axis+k-1 and broadcast elsewhere.

    With gamma None the factor is the second input (same broadcasting); beta None means no bias.
    """

    gamma: np.ndarray | None
    beta: np.ndarray | None
    axis: int = 1


@dataclass(kw_only=True)
class Bias(Node):
    """y = x + beta, broadcast like Scale; with beta None the addend is the second input."""

    beta: np.ndarray | None
    axis: int = 1


@dataclass(kw_only=True)
class Eltwise(Node):
    """Element-wise over all inputs: sum (each input times its coefficient, one per input or none
    for all 1), product or maximum (both ignore coefficients)."""

    op: EltwiseOp
    coeffs: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.op not in ("sum", "prod", "max"):
            raise InvalidNode(self.name, f"unknown eltwise op {self.op!r}")
        if self.op == "sum" and self.coeffs and len(self.coeffs) != len(self.inputs):
            raise InvalidNode(self.name, f"{len(self.coeffs)} coefficients for {len(self.inputs)} inputs")


@dataclass(kw_only=True)
class Concat(Node):
    """Concatenate inputs along `axis`."""

    axis: int = 1


@dataclass(kw_only=True)
class Slice(Node):
    """Split the input along `axis` into len(outputs) parts of the given `sizes`."""

    axis: int
    sizes: list[int]

    def __post_init__(self) -> None:
        if len(self.sizes) != len(self.outputs):
            raise InvalidNode(self.name, f"{len(self.sizes)} sizes for {len(self.outputs)} outputs")


@dataclass(kw_only=True)
class Flatten(Node):
    """Merge dims axis..end_axis (inclusive, negative counts from the end) into one; end_axis just
    before axis merges nothing and inserts a dim of size 1 at axis."""

    axis: int = 1
    end_axis: int = -1


@dataclass(kw_only=True)
class Reshape(Node):
    """Reshape to `shape`; a 0 copies the input's dim at that index, one -1 is inferred.

    `shape` is written to hold for any batch size, not only the one the graph's tensors record: the
    lift gives [0, *output dims 1..] when the batch dim is kept, [-1, *output dims 1..] when the
    batch is merged into dim 0 (the output's dim 0 a multiple of the input's, and the input's other
    dims a multiple of the output's), else the output shape as recorded. Emitters use it as given.
    """

    shape: tuple[int, ...]


@dataclass(kw_only=True)
class Dense(Node):
    """Fully connected: flatten dims from `axis` on into K, y = x @ weight.T + bias.

    weight is (out, K); the output shape is x.shape[:axis] + (out,).
    """

    weight: np.ndarray
    bias: np.ndarray | None
    axis: int = 1


@dataclass(kw_only=True)
class Softmax(Node):
    """Softmax over `axis`."""

    axis: int = 1


@dataclass(kw_only=True)
class Identity(Node):
    """y = x (test-time Dropout, Split). Removed by the identity pass; kept only transiently."""


@dataclass(kw_only=True)
class Fire(Node):
    """SqueezeNet's Fire module: squeeze 1x1 conv + ReLU, then expand 1x1 and expand 3x3 (pad 1)
    convs each + ReLU, concatenated on channels as [expand1x1, expand3x3]."""

    squeeze: Conv
    expand1x1: Conv
    expand3x3: Conv

    @property
    def s1x1(self) -> int:
        return self.squeeze.out_channels

    @property
    def e1x1(self) -> int:
        return self.expand1x1.out_channels

    @property
    def e3x3(self) -> int:
        return self.expand3x3.out_channels


@dataclass(kw_only=True)
class Transpose(Node):
    """Reorder the input's axes: output axis i is input axis perm[i] (a permutation of all axes)."""

    perm: tuple[int, ...]

    def __post_init__(self) -> None:
        if sorted(self.perm) != list(range(len(self.perm))):
            raise InvalidNode(self.name, f"{list(self.perm)} is not a permutation of the axes")


@dataclass(kw_only=True)
class Constant(Node):
    """y = value, a fixed float32 array whatever the batch (its dim 0 is its own, not the batch); the
    node reads no input. What Caffe computes from shapes alone (PriorBox) becomes one: it holds for
    the input size the graph was built for, so a graph with one cannot take other input sizes."""

    value: np.ndarray
    batch_axis: ClassVar[int | None] = None

    def __post_init__(self) -> None:
        if self.inputs:
            raise InvalidNode(self.name, "a constant reads no input")


@dataclass(kw_only=True)
class Normalize(Node):
    """L2 normalisation over dims 1.. (rank 2 to 4), then a learned scale.

    across_spatial: per image n, y = x * r with r = 1 / sqrt(sum over all of x[n]'s dims 1.. of x^2
    + eps), the reciprocal taken first; otherwise per position (n, h, w): y = x / sqrt(sum over
    channels of x^2 + eps). Then y * scale: `scale` has shape () (one value for every channel) or
    (C,) (per channel, dim 1).
    """

    scale: np.ndarray
    across_spatial: bool = True
    eps: float = 1e-10


@dataclass(kw_only=True)
class DetectionOutput(Node):
    """SSD's detection head: boxes decoded from predictions and priors, per-class greedy
    non-maximum suppression, the best detections per image as rows.

    Inputs: loc (N, P * L * 4) with L = 1 when `share_location` else num_classes, conf
    (N, P * num_classes) (probabilities; read as (N, P, num_classes)), priors (1, 2, P * 4): row 0
    each prior's (xmin, ymin, xmax, ymax), row 1 its four variances v.

    Decoding, float32 (per prior and loc class; d the 4 predicted values, d * v unless
    `variance_encoded_in_target`, which uses d as is): "corner": prior corners + d * v; "corner_size":
    prior corners + d * v * (prior width or height); "center_size": centre = (d0 * v0) * pw + prior
    centre (and y alike), size = exp(d2 * v2) * pw (and height alike), corners = centre -+ size / 2.
    A box's size is (xmax - xmin) * (ymax - ymin), 0 when xmax < xmin or ymax < ymin.

    Per image and class c != background_label_id, with the boxes of loc class (0 if shared else c):
    candidates are the priors whose score is > confidence_threshold, sorted by score descending
    (equal scores: lower prior index first), the first top_k (-1: all). In that order a candidate is
    kept when overlap(candidate, k) <= t for every box k kept before it (so a NaN overlap
    suppresses); t starts at nms_threshold and after each kept box, if eta < 1 and t > 0.5, becomes
    t * eta (float32). overlap(a, b) = i / ((size(a) + size(b)) - i), i = iw * ih the intersection
    (iw = min(xmaxes) - max(xmins), ih alike), and 0 when b lies apart (b.xmin > a.xmax, b.xmax <
    a.xmin, or the same in y) or iw <= 0 or ih <= 0.

    Per image, when more than keep_top_k (> -1) boxes are kept over all classes, only the keep_top_k
    highest scores stay (equal scores: lower class first, then earlier kept).

    Output (1, 1, R, 7): rows [image, class, score, xmin, ymin, xmax, ymax] by image, class
    ascending, then in kept order (score descending). R is known only at run time (the graph's
    shape records 1); with no row at all the output is N rows [n, -1, -1, -1, -1, -1, -1].

    RefineDet: a fourth input arm_conf (N, P * 2), read as (N, P, 2), replaces the conf row of every
    prior whose objectness arm_conf[n, p, 1] < objectness_score (not for NaN) by [1, 0, ..., 0] (class
    0 scores 1, whatever background_label_id); a fifth, arm_loc (N, P * 4) (needs share_location),
    refines the priors per image first: each prior's corners become arm_loc decoded against it as
    above (same code type and variances), and loc is decoded against those refined corners with the
    priors' variances.
    """

    num_classes: int
    share_location: bool = True
    background_label_id: int = 0
    code_type: Literal["corner", "center_size", "corner_size"] = "corner"
    variance_encoded_in_target: bool = False
    confidence_threshold: float = -float(np.finfo(np.float32).max)
    nms_threshold: float = 0.3
    eta: float = 1.0
    top_k: int = -1
    keep_top_k: int = -1
    objectness_score: float = 0.01
    batch_axis: ClassVar[int | None] = None
    run_time_dims: ClassVar[dict[int, str]] = {2: "detections"}

    def __post_init__(self) -> None:
        if self.code_type not in ("corner", "center_size", "corner_size"):
            raise InvalidNode(self.name, f"unknown code type {self.code_type!r}")
        if not 3 <= len(self.inputs) <= 5 or len(self.outputs) != 1:
            raise InvalidNode(self.name, "takes loc, conf, priors (and RefineDet's arm_conf, arm_loc), "
                                         "gives one output")
        if len(self.inputs) == 5 and not self.share_location:
            raise InvalidNode(self.name, "RefineDet's arm_loc refines shared boxes only (share_location)")


@dataclass(kw_only=True)
class Crop(Node):
    """y = x[..., offsets[0] : offsets[0] + sizes[0], offsets[1] : ..., ...] on the axes from `axis`
    on (one offset and size per axis from `axis` to the last); earlier axes are kept whole."""

    axis: int
    offsets: list[int]
    sizes: list[int]

    def __post_init__(self) -> None:
        if len(self.offsets) != len(self.sizes) or min(self.offsets, default=0) < 0 or min(self.sizes, default=1) < 1:
            raise InvalidNode(self.name, f"offsets {self.offsets} and sizes {self.sizes} do not describe a crop")


@dataclass(kw_only=True)
class ShuffleChannel(Node):
    """Channel shuffle of (N, C, ...) with C = group * k: output channel j * group + i is input
    channel i * k + j (C viewed as (group, k), transposed to (k, group))."""

    group: int

    def __post_init__(self) -> None:
        if self.group < 1:
            raise InvalidNode(self.name, f"group must be positive, got {self.group}")


@dataclass(kw_only=True)
class Axpy(Node):
    """Inputs (a, x, y): y + a * x, a holding one factor per (sample, channel): shape (N, C) or
    (N, C, 1, ...), broadcast over x's remaining dims; x and y of one shape."""


@dataclass(kw_only=True)
class Clip(Node):
    """y = min(max(x, low), high) (NaN stays NaN)."""

    low: float
    high: float


@dataclass(kw_only=True)
class ArgMax(Node):
    """The `top_k` largest entries in descending order; of equal values the higher index first.

    With an `axis`: along it, the output is x's shape with top_k there, holding the indices (as
    floats), or the values themselves when `out_max_val`. With axis None: over each sample's
    values flattened (dims 1..), the output is (N, 1, top_k) padded with trailing 1s to the
    output's rank, holding the indices, or with `out_max_val` (N, 2, top_k, ...): indices in
    channel 0, values in channel 1.
    """

    axis: int | None
    top_k: int = 1
    out_max_val: bool = False

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise InvalidNode(self.name, f"top_k must be at least 1, got {self.top_k}")


@dataclass(kw_only=True)
class NearestUpsample(Node):
    """Nearest-neighbour upsampling of NCHW by integer factors: y[n, c, i, j] = x[n, c, i // sh, j // sw],
    the output (H * sh, W * sw)."""

    scale: Pair

    def __post_init__(self) -> None:
        if min(self.scale) < 1:
            raise InvalidNode(self.name, f"scale must be positive, got {self.scale}")


@dataclass(kw_only=True)
class BilinearInterp(Node):
    """Bilinear resize of NCHW, corners aligned (DeepLab/PSPNet's caffe_cpu_interp2).

    First the input is cut to rows [crop_begin, H - crop_end) and columns [crop_begin, W - crop_end)
    (h x w). Output (oh, ow) = `size`; output row i reads input row r = i * rh with
    rh = (h - 1) / (oh - 1) (0 when oh is 1), in float32, r0 = floor(r), r1 = r0 + 1 clamped to h - 1,
    weight lr = r - r0; likewise for columns (c, c0, c1, lc). Then
    y = (1 - lr) * ((1 - lc) * x[r0, c0] + lc * x[r0, c1]) + lr * ((1 - lc) * x[r1, c0] + lc * x[r1, c1]).
    When (oh, ow) equals (h, w) the cut input is copied as is.
    """

    size: Pair
    crop_begin: int = 0
    crop_end: int = 0

    def __post_init__(self) -> None:
        if min(self.size) < 1 or self.crop_begin < 0 or self.crop_end < 0:
            raise InvalidNode(self.name, f"size {self.size}, crop {self.crop_begin}/{self.crop_end} do not "
                                         "describe a resize")
