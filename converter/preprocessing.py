"""What an image must go through before the model sees it, as data: channel order, pixel range, mean
and scale, with where each came from. Knows nothing of Caffe's files (converter/caffe/transform.py
reads those) nor of ONNX or PyTorch.

One formula covers Caffe's DataTransformer and torchvision's Normalize:

    input[c] = (pixel[c] - mean[c]) * scale[c]

where `pixel` holds the image's channels in `channel_order`, valued in [0, 255] or [0, 1]
(`input_range`). A per-pixel mean (a Caffe mean file) replaces `mean` by `mean_image` (C x H x W).

`metadata()` gives the ONNX metadata_props: the ONNX/Windows ML image keys (`Image.BitmapPixelFormat`,
`Image.ColorSpaceGamma`, `Image.NominalPixelRange`, from onnx/docs/MetadataProps.md) describe the
pixels the steps start from; `preprocessing.*` keys the steps themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from converter.errors import ConverterError

CHANNEL_ORDERS = ("bgr", "rgb")
INPUT_RANGES = {"0-255": 255.0, "0-1": 1.0}
BAKE_TARGETS = ("rgb01", "rgb255", "bgr255")
TORCHVISION_MEAN_RGB = (0.485, 0.456, 0.406)
TORCHVISION_STD_RGB = (0.229, 0.224, 0.225)
"""torchvision's ImageNet normalisation (transforms.Normalize after ToTensor: RGB in [0, 1])."""

CAFFE_DEFAULT_SOURCE = "default for Caffe image models (OpenCV-decoded BGR, 0-255, no mean, scale 1)"


@dataclass(frozen=True)
class Preprocessing:
    channel_order: str = "bgr"
    input_range: str = "0-255"
    mean: tuple[float, ...] = ()
    scale: tuple[float, ...] = (1.0,)
    mean_image: np.ndarray | None = field(default=None, compare=False)
    mean_file: str | None = None
    crop_size: int | None = None
    mirror: bool = False
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    # How much of the above the model does itself: "" (nothing: feed it preprocessed input), or the
    # bake that was applied ("rgb01", "torchvision-normalize", ...).
    baked: str = ""
    baked_how: str = ""

    def __post_init__(self) -> None:
        if self.channel_order not in CHANNEL_ORDERS:
            raise ConverterError(f"channel order {self.channel_order!r}: choose {' or '.join(CHANNEL_ORDERS)}")
        if self.input_range not in INPUT_RANGES:
            raise ConverterError(f"input range {self.input_range!r}: choose {' or '.join(INPUT_RANGES)}")

    @property
    def pixel_max(self) -> float:
        return INPUT_RANGES[self.input_range]

    def channel_means(self, channels: int) -> np.ndarray:
        """The mean per channel (a per-pixel mean image averaged over its plane); 0 without a mean."""
        if self.mean_image is not None:
            return self.mean_image.reshape(self.mean_image.shape[0], -1).mean(axis=1).astype(np.float64)
        return _per_channel(self.mean, channels, "mean", default=0.0)

    def channel_scales(self, channels: int) -> np.ndarray:
        return _per_channel(self.scale, channels, "scale", default=1.0)

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        """N x C x H x W pixels (in `channel_order`, valued in `input_range`) -> the model's input."""
        channels = pixels.shape[1]
        shift = (self.mean_image[None] if self.mean_image is not None
                 else self.channel_means(channels).reshape(1, -1, 1, 1))
        scale = self.channel_scales(channels).reshape(1, -1, 1, 1)
        return ((pixels.astype(np.float64) - shift) * scale).astype(np.float32)

    def to_dict(self) -> dict[str, object]:
        """Plain data (JSON, the generated module's `preprocessing` dict)."""
        out: dict[str, object] = {
            "channel_order": self.channel_order,
            "input_range": self.input_range,
            "mean": list(self.mean) if self.mean_image is None else None,
            "scale": list(self.scale),
            "formula": "input = (pixel - mean) * scale",
        }
        if self.mean_file is not None:
            out["mean_file"] = self.mean_file
        if self.crop_size:
            out["crop_size"] = self.crop_size
        out["mirror"] = self.mirror
        out["baked"] = self.baked or None
        if self.baked:
            out["baked_how"] = self.baked_how
        out["sources"] = dict(self.sources)
        return out

    def metadata(self) -> dict[str, str]:
        """ONNX metadata_props (documented in the README)."""
        meta = {
            "Image.BitmapPixelFormat": "Bgr8" if self.channel_order == "bgr" else "Rgb8",
            "Image.ColorSpaceGamma": "SRGB",
            "Image.NominalPixelRange": "NominalRange_0_255" if self.input_range == "0-255" else "Normalized_0_1",
            "preprocessing.formula": "input = (pixel - mean) * scale",
            "preprocessing.channel_order": self.channel_order,
            "preprocessing.input_range": self.input_range,
            "preprocessing.mean": ("per-pixel: " + (self.mean_file or "mean image")) if self.mean_image is not None
            else _numbers(self.mean) or "0",
            "preprocessing.scale": _numbers(self.scale),
            "preprocessing.mirror": "true (training only)" if self.mirror else "false",
            "preprocessing.baked": self.baked or "none",
            "preprocessing.source": "; ".join(f"{key}: {value}" for key, value in self.sources.items()),
        }
        if self.crop_size:
            meta["preprocessing.crop_size"] = str(self.crop_size)
        if self.baked:
            meta["preprocessing.baked_how"] = self.baked_how
        return meta


def from_metadata(meta: Mapping[str, str]) -> Preprocessing:
    """The Preprocessing an emitted model's metadata describes (per-channel means only)."""
    mean = meta.get("preprocessing.mean", "0")
    if mean.startswith("per-pixel"):
        raise ConverterError("this model's mean is per-pixel (a mean file): its metadata cannot rebuild it")
    return Preprocessing(channel_order=meta.get("preprocessing.channel_order", "bgr"),
                         input_range=meta.get("preprocessing.input_range", "0-255"),
                         mean=_parse_numbers(mean), scale=_parse_numbers(meta.get("preprocessing.scale", "1")),
                         baked=meta.get("preprocessing.baked", "none").replace("none", ""))


def _numbers(values: tuple[float, ...]) -> str:
    return ",".join(f"{v:.9g}" for v in values)


def _parse_numbers(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(",") if v.strip())


def _per_channel(values: tuple[float, ...], channels: int, what: str, default: float) -> np.ndarray:
    if not values:
        return np.full(channels, default, np.float64)
    if len(values) == 1:
        return np.full(channels, values[0], np.float64)
    if len(values) != channels:
        raise ConverterError(f"{len(values)} {what} values for an input of {channels} channels")
    return np.asarray(values, np.float64)


def bake_target(name: str) -> Preprocessing:
    """What a baked model takes: `rgb01` (RGB in [0, 1]), `rgb255`, `bgr255`, or
    `torchvision-normalize` (RGB in [0, 1] normalised by torchvision's ImageNet mean and std)."""
    if name == "torchvision-normalize":
        return Preprocessing(channel_order="rgb", input_range="0-1", mean=TORCHVISION_MEAN_RGB,
                             scale=tuple(1.0 / s for s in TORCHVISION_STD_RGB),
                             sources={"all": "torchvision's ImageNet normalisation"})
    if name not in BAKE_TARGETS:
        raise ConverterError(f"--bake-preprocessing {name!r}: choose {', '.join(BAKE_TARGETS)}")
    return Preprocessing(channel_order=name[:3], input_range="0-1" if name.endswith("01") else "0-255",
                         sources={"all": f"--bake-preprocessing {name}"})


@dataclass(frozen=True)
class Affine:
    """model input[c] = a[c] * new input[perm[c]] + b[c] (b: (C,) or (C, H, W))."""

    perm: tuple[int, ...]
    a: np.ndarray
    b: np.ndarray


def affine_between(model: Preprocessing, target: Preprocessing, channels: int) -> Affine:
    """How the input a model was trained on follows from the input `target` describes, both being
    the same image: the channel flip, mean and scale a baked model does inside."""
    if channels != 3 and model.channel_order != target.channel_order:
        raise ConverterError(f"a channel flip needs a 3-channel input; this one has {channels}")
    perm = tuple(range(channels)) if model.channel_order == target.channel_order else tuple(reversed(range(channels)))
    index = list(perm)
    t_mean = target.channel_means(channels)[index]
    t_scale = target.channel_scales(channels)[index]
    m_scale = model.channel_scales(channels)
    ratio = model.pixel_max / target.pixel_max
    # pixel (model's range) = ratio * (u / t_scale + t_mean); model input = (pixel - mean) * m_scale
    a = ratio * m_scale / t_scale
    if model.mean_image is not None:
        b = (ratio * t_mean * m_scale)[:, None, None] - model.mean_image * m_scale[:, None, None]
    else:
        b = (ratio * t_mean - model.channel_means(channels)) * m_scale
    return Affine(perm, a, b)


def resolved(found: Preprocessing | None, *, mean: tuple[float, ...] | None = None,
             mean_image: np.ndarray | None = None, mean_file: str | None = None,
             scale: float | None = None, channel_order: str | None = None,
             input_range: str | None = None) -> Preprocessing:
    """`found` (from the net's data layers, or None) overridden by the command line's options; what
    neither says is Caffe's default for image models (BGR, 0-255, no mean, scale 1)."""
    base = found or Preprocessing(sources={"all": CAFFE_DEFAULT_SOURCE})
    sources = dict(base.sources)
    changes: dict[str, object] = {}
    if mean is not None or mean_image is not None:
        changes.update(mean=tuple(mean or ()), mean_image=mean_image, mean_file=mean_file)
        sources["mean"] = f"--mean-file {mean_file}" if mean_file is not None else "--mean"
    if scale is not None:
        changes["scale"] = (float(scale),)
        sources["scale"] = "--scale"
    if channel_order is not None:
        changes["channel_order"] = channel_order
        sources["channel_order"] = "--channel-order"
    if input_range is not None:
        changes["input_range"] = input_range
        sources["input_range"] = "--input-range"
    return replace(base, sources=sources, **changes)
