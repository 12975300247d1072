"""Deterministic synthetic weights for a net definition, for demos, tests and benchmarks.

Weights are drawn first (Convolution and InnerProduct He-uniform, bound sqrt(6 / fan_in), biases
small; Scale factors near 1; anything else small noise), then calibrated on a fixed input so that
activations stay of order one however deep the net (LSUV-style, Mishkin & Matas 2015): the
reference executor runs the net layer by layer on a seeded uniform(-1, 1) input, each Convolution,
Deconvolution and InnerProduct is rescaled so that its output's standard deviation is 1, and each
BatchNorm that uses stored statistics gets the mean and variance of the data it actually sees there
(slightly perturbed, so that it still does some work). Fan-in scaling alone is not enough: BatchNorm
statistics that do not match the data, and residual sums, grow activations geometrically with depth.
Then each residual branch (`residual_branches`: an Eltwise SUM's, or an SENet Axpy's) is scaled to
a quarter of its shortcut's standard deviation where the two are summed, so that every residual
block is close to the identity, as in a trained net: at full strength the blocks' small gains
compound over ResNet-152's 50 blocks into an ill-conditioned net whose float32 runtimes disagree
with each other by 3e-4.

Everything is deterministic for a seed: the calibration factors and statistics are rounded to three
significant digits, so summation-order differences between BLAS builds do not change a bit of the
weights.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from converter.caffe import caffe_pb2
from converter.caffe.caffemodel import write_caffemodel
from converter.caffe.layers import LAYER_TYPES
from converter.caffe.loader import build_net
from converter.caffe.net import CaffeNet, Shape
from converter.caffe.prototxt import ParsedPrototxt, read_prototxt
from converter.caffe.upgrade import upgrade_net
from converter.errors import ModelError

# Layers whose first top is linear in their blobs together (weights, bias): dividing both by s
# divides the output by s.
RESCALED = {"Convolution", "Deconvolution", "InnerProduct", "ConvolutionDepthwise", "DepthwiseConvolution"}


MAX_CALIBRATION_MACS = 100e9  # VGG-16 at 224x224 is 15.5G multiply-adds
MAX_CALIBRATION_BYTES = 1 << 30  # every blob of one forward pass


def calibration_cost(net: CaffeNet) -> tuple[float, int]:
    """(multiply-adds, bytes of blobs) of one forward pass of `net`, roughly: what calibrating costs."""
    macs = 0.0
    for layer in net.layers:
        shapes = LAYER_TYPES[layer.type].blob_shapes
        if layer.type not in RESCALED or shapes is None or not layer.top_shapes:
            continue
        weight = shapes(layer, layer.bottom_shapes)[0]
        per_output = math.prod(weight[1:]) if len(weight) > 1 else 1
        outputs = math.prod(layer.bottom_shapes[0] if layer.type == "Deconvolution" else layer.top_shapes[0])
        macs += float(outputs) * per_output
    blobs = sum(math.prod(s) for s in net.inputs.values()) + sum(
        math.prod(s) for layer in net.layers for s in layer.top_shapes)
    return macs, 4 * blobs


def calibration_affordable(net: CaffeNet) -> bool:
    macs, size = calibration_cost(net)
    return macs <= MAX_CALIBRATION_MACS and size <= MAX_CALIBRATION_BYTES


def synthetic_blobs(net: CaffeNet, seed: int = 0, calibrate: bool = True) -> dict[str, list[np.ndarray]]:
    """Weights for every layer of `net` that holds some, by layer name; calibrated (see the module
    docstring) on `net`'s input shapes unless `calibrate` is false (or `net` needs a forward pass too
    costly for that: `calibration_affordable`)."""
    rng = np.random.default_rng(seed)
    weights: dict[str, list[np.ndarray]] = {}
    for layer in net.layers:
        blob_shapes = LAYER_TYPES[layer.type].blob_shapes
        if blob_shapes is None or not layer.receives_weights:
            continue
        blobs = []
        for i, shape in enumerate(blob_shapes(layer, layer.bottom_shapes)):
            blobs.append(_blob(layer.type, i, tuple(shape), rng))
        weights[layer.param.name] = blobs
    weighted = [layer for layer in net.layers if LAYER_TYPES[layer.type].blob_shapes is not None]
    # A layer sharing an earlier one's name never gets weights (Caffe copies them into the first only):
    # nothing to calibrate it with.
    if calibrate and calibration_affordable(net) and all(layer.receives_weights for layer in weighted):
        calibrate_weights(net, weights, seed)
    return weights


def calibration_inputs(net: CaffeNet, seed: int) -> dict[str, np.ndarray]:
    """The fixed input the weights are calibrated on: uniform(-1, 1), seeded; an `im_info` input (N, 3)
    holds the image's height, width and scale 1, as py-faster-rcnn feeds it (random values would leave
    no proposal, and the layers after them nothing to calibrate on)."""
    rng = np.random.default_rng([seed, 0x5EED])
    inputs = {name: rng.uniform(-1.0, 1.0, size=shape).astype(np.float32) for name, shape in net.inputs.items()}
    return with_image_info(net, inputs)


def with_image_info(net: CaffeNet, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """`inputs` with an `im_info` (N, 3) input set to the first 4-D input's height, width and scale 1."""
    images = [shape for shape in net.inputs.values() if len(shape) == 4]
    info = net.inputs.get("im_info")
    if images and info is not None and len(info) == 2 and info[1] == 3:
        inputs["im_info"] = np.tile(np.array([images[0][2], images[0][3], 1], np.float32), (info[0], 1))
    return inputs


def calibrate_weights(net: CaffeNet, weights: dict[str, list[np.ndarray]], seed: int) -> None:
    """Rescale `weights` in place, layer by layer in run order (see the module docstring)."""
    from converter.caffe.layers.batch_norm import uses_global_stats

    rng = np.random.default_rng([seed, 0xB4])
    blobs: dict[str, np.ndarray] = dict(calibration_inputs(net, seed))
    last_use = {bottom: i for i, layer in enumerate(net.layers) for bottom in layer.bottoms}
    branches = residual_branches(net)
    for index, layer in enumerate(net.layers):
        params = weights.get(layer.param.name)
        bottoms = [blobs[b] for b in layer.bottoms]
        if index in branches:
            shortcut, scaled = branches[index]
            reference = float(np.std(bottoms[shortcut], dtype=np.float64))
            for position, branch in scaled.items():
                std = float(np.std(bottoms[position], dtype=np.float64))
                if not (math.isfinite(std) and std > 0 and math.isfinite(reference) and reference > 0):
                    continue
                factor = np.float32(_significant(RESIDUAL_RATIO * reference / std))
                target_params = weights[net.layers[branch.target].param.name]
                for i in range(min(2, len(target_params))):
                    target_params[i] *= factor
                for compensated in branch.compensated:
                    weights[net.layers[compensated].param.name][0] /= factor
                bottoms[position] = bottoms[position] * factor
        if params is not None and layer.type == "BatchNorm" and uses_global_stats(layer):
            _fit_batch_norm(params, bottoms[0], rng)
        run = layer if params is None else dataclasses.replace(layer, blobs=params)
        outputs = LAYER_TYPES[layer.type].forward(run, bottoms)
        if params is not None and layer.type in RESCALED and outputs[0].size > 1:
            std = float(np.std(outputs[0], dtype=np.float64))
            if math.isfinite(std) and std > 0:
                factor = np.float32(_significant(1.0 / std))
                for i in range(min(2, len(params))):
                    params[i] *= factor
                outputs = [outputs[0] * factor, *outputs[1:]]
        for bottom in layer.bottoms:
            if last_use.get(bottom) == index and bottom not in layer.tops:
                blobs.pop(bottom, None)
        blobs.update(zip(layer.tops, outputs, strict=True))


# Layers that commute with a positive factor and keep one bottom: a residual branch may end in them.
HOMOGENEOUS = {"ReLU", "Dropout"}
# A residual branch's standard deviation over its shortcut's, where they are summed. At 1 (what
# calibrating every layer to unit output gives) each block amplifies a perturbation of its input by
# about 1.15 to 1.3 and ResNet-152 as a whole by about 4500 (float64, measured): float32 rounding alone
# then moves its logits by 3e-4 relative in every runtime. At 0.25 each block's Jacobian is close to
# the identity, as in a trained ResNet: the whole net amplifies by about 26, its runtimes agree to 2e-6.
RESIDUAL_RATIO = 0.25


@dataclasses.dataclass(frozen=True)
class Branch:
    """How calibration scales a residual branch: the blobs (weights and bias) of `target` times a
    factor, the weights alone of each `compensated` layer (another reader of the branch's value, such
    as an SE block's first convolution, which then computes what it did) divided by it."""

    target: int
    compensated: tuple[int, ...] = ()


def residual_branches(net: CaffeNet) -> dict[int, tuple[int, dict[int, Branch]]]:
    """The residual sums of `net`, by layer index: (the shortcut's bottom position, {position of a
    residual branch's bottom: how to scale it}).

    An Eltwise SUM whose bottoms are chains of one-bottom layers from fork points (blobs read more
    than once): the shortcut is the chain with the fewest weighted layers (an identity shortcut has
    none, a projection shortcut one), unique; every other chain is a residual branch, scaled by the
    last Scale or weighted layer in it, when only positively homogeneous layers (ReLU, Dropout)
    follow that one. An Axpy (SENet: a * x + y): y is the shortcut, x the branch, scaled by the Scale
    or weighted layer that wrote it; the other readers of x (the SE block's pooling, then its first
    convolution) are compensated.
    """
    writer: dict[str, int] = {}
    reads: list[list[int]] = []  # per layer, the index of the layer that wrote each bottom (-1: an input)
    consumers: dict[tuple[int, str], list[int]] = {}
    for index, layer in enumerate(net.layers):
        reads.append([writer.get(bottom, -1) for bottom in layer.bottoms])
        for bottom, source in zip(layer.bottoms, reads[-1], strict=True):
            consumers.setdefault((source, bottom), []).append(index)
        writer.update((top, index) for top in layer.tops)

    def scales(index: int) -> bool:
        layer = net.layers[index]
        return (layer.type in RESCALED or layer.type == "Scale") and len(layer.bottoms) == 1

    def chain(source: int, blob: str) -> tuple[int, int | None]:
        """(weighted layers in the chain ending at `blob` as `source` wrote it, the layer scaling it)."""
        weighted, target, scalable = 0, None, True
        while source >= 0 and len(consumers[(source, blob)]) == 1:
            layer = net.layers[source]
            if layer.type in RESCALED or layer.type == "Scale":
                weighted += layer.type != "Scale"
                if scalable and target is None and scales(source):
                    target = source
            if layer.type not in HOMOGENEOUS:
                scalable = False
            if len(layer.bottoms) != 1:
                break
            source, blob = reads[source][0], layer.bottoms[0]
        return weighted, target

    def compensable(reader: int) -> tuple[int, ...] | None:
        """The weighted layers that, divided by a factor, undo it for `reader` and all after it; None
        when some path reaches anything else first."""
        layer = net.layers[reader]
        if layer.type in RESCALED and len(layer.bottoms) == 1:
            return (reader,)
        if layer.type not in {*HOMOGENEOUS, "Pooling"} or len(layer.bottoms) != 1 or len(layer.tops) != 1:
            return None
        found: list[int] = []
        for after in consumers.get((reader, layer.tops[0]), []):
            further = compensable(after)
            if further is None:
                return None
            found.extend(further)
        return tuple(found)

    found: dict[int, tuple[int, dict[int, Branch]]] = {}
    for index, layer in enumerate(net.layers):
        if layer.type == "Axpy" and len(layer.bottoms) == 3:
            source = reads[index][1]
            if source < 0 or not scales(source):
                continue
            others = [compensable(r) for r in consumers[(source, layer.bottoms[1])] if r != index]
            if all(other is not None for other in others):
                found[index] = (2, {1: Branch(source, tuple(i for other in others for i in other or ()))})
            continue
        p = layer.param.eltwise_param
        if layer.type != "Eltwise" or p.operation != caffe_pb2.EltwiseParameter.SUM or p.coeff \
                or len(layer.bottoms) < 2:
            continue
        chains = [chain(source, bottom) for source, bottom in zip(reads[index], layer.bottoms, strict=True)]
        lengths = [weighted for weighted, _ in chains]
        shortcut = lengths.index(min(lengths))
        targets = {i: target for i, (_, target) in enumerate(chains) if i != shortcut}
        if lengths.count(min(lengths)) == 1 and all(target is not None for target in targets.values()):
            found[index] = (shortcut, {i: Branch(target) for i, target in targets.items() if target is not None})
    return found


def _fit_batch_norm(params: list[np.ndarray], x: np.ndarray, rng: np.random.Generator) -> None:
    """Stored statistics (scale factor 1) near the mean and variance of `x` per channel (axis 1)."""
    c = 1 if x.ndim == 1 else x.shape[1]
    flat = np.moveaxis(x.reshape(x.shape[0], c, -1), 1, 0).reshape(c, -1).astype(np.float64)
    mean, var = flat.mean(axis=1), flat.var(axis=1)
    mean = mean + rng.uniform(-0.1, 0.1, c) * np.sqrt(var)
    var = var * rng.uniform(0.8, 1.25, c)
    params[0] = _significant(mean).reshape(params[0].shape)
    params[1] = _significant(var).reshape(params[1].shape)
    params[2] = np.ones(params[2].shape, np.float32)


def _significant(values: np.ndarray | float) -> np.ndarray:
    """`values` rounded to three significant digits, as float32."""
    v = np.asarray(values, np.float64)
    magnitude = np.zeros_like(v)
    np.log10(np.abs(v), out=magnitude, where=v != 0)
    step = 10.0 ** (np.floor(magnitude) - 2)
    return (np.round(v / step) * step).astype(np.float32)


def _blob(layer_type: str, index: int, shape: Shape, rng: np.random.Generator) -> np.ndarray:
    def uniform(low: float, high: float) -> np.ndarray:
        # Drawn as float32 in place: a float64 draw would hold twice the largest blob (VGG-16's fc6: 0.8 GB).
        values = rng.random(size=shape, dtype=np.float32)
        values *= np.float32(high - low)
        values += np.float32(low)
        return values

    if layer_type == "BatchNorm":
        return [uniform(-0.1, 0.1), uniform(0.5, 1.5), np.ones(shape, np.float32)][min(index, 2)]
    if layer_type == "Scale":
        return uniform(0.5, 1.5) if index == 0 else uniform(-0.1, 0.1)
    if layer_type == "PReLU":
        return uniform(0.05, 0.3)
    if index == 0 and layer_type in RESCALED and len(shape) >= 2:
        fan_in = math.prod(shape[1:]) if layer_type != "InnerProduct" or len(shape) == 2 else shape[-1]
        bound = math.sqrt(6.0 / max(fan_in, 1))
        return uniform(-bound, bound)
    return uniform(-0.1, 0.1)


def calibration_net(proto: caffe_pb2.NetParameter, input_shapes: Mapping[str, Shape] | None = None,
                    parsed: ParsedPrototxt | None = None) -> CaffeNet:
    """The net the weights are made for: at batch 1 when it builds so (cheaper to calibrate; weight
    shapes do not depend on the batch), else at the shapes given or declared; at a smaller image when
    that one costs too much to calibrate and the weights keep their shapes."""
    net = build_net(proto, input_shapes, parsed=parsed)
    single = {name: (1, *shape[1:]) for name, shape in net.inputs.items() if shape}
    if single != net.inputs:
        with contextlib.suppress(ModelError):  # a Reshape or Slice that needs the declared batch
            net = build_net(proto, single, parsed=parsed)
    return _smaller_if_too_costly(proto, net, parsed)


def _smaller_if_too_costly(proto: caffe_pb2.NetParameter, net: CaffeNet, parsed: ParsedPrototxt | None) -> CaffeNet:
    """`net` at half its image size (up to four times) while one forward pass costs too much to
    calibrate on, as long as every weight keeps its shape (a fully convolutional net such as FCN-8s
    at 500x500; not a net whose InnerProduct reads a flattened image)."""
    def weight_shapes(candidate: CaffeNet) -> list[list[Shape]]:
        return [[tuple(s) for s in shapes(layer, layer.bottom_shapes)] for layer in candidate.layers
                if (shapes := LAYER_TYPES[layer.type].blob_shapes) is not None]

    wanted = None
    for _ in range(4):
        if calibration_affordable(net) or not all(len(shape) == 4 for shape in net.inputs.values()):
            break
        half = {name: (s[0], s[1], max(1, s[2] // 2), max(1, s[3] // 2)) for name, s in net.inputs.items()}
        try:
            smaller = build_net(proto, half, parsed=parsed)
        except ModelError:
            break
        wanted = wanted if wanted is not None else weight_shapes(net)
        if weight_shapes(smaller) != wanted:
            break
        net = smaller
    return net


def write_synthetic_weights(
    prototxt: str | Path,
    output: str | Path,
    seed: int = 0,
    input_shapes: Mapping[str, Shape] | None = None,
    calibrate: bool = True,
) -> bool:
    """Write the weights as a caffemodel; whether they are calibrated (not when `calibrate` is false
    or a forward pass at this input size costs too much: then they are fan-in scaled only)."""
    parsed = read_prototxt(prototxt)
    net = calibration_net(parsed.net, input_shapes, parsed=parsed)
    write_caffemodel(output, upgrade_net(parsed.net), synthetic_blobs(net, seed, calibrate))
    return calibrate and calibration_affordable(net)
