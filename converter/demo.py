"""Image classification with a converted model, Caffe style: BGR, resized bilinearly, minus a mean."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from converter.caffe.net import CaffeNet
from converter.defaults import IMAGENET_MEAN_BGR
from converter.errors import ConverterError
from converter.preprocessing import Preprocessing

# Refuse images of more pixels (8192 x 8192) before decoding them: a small file can declare a huge
# image. OpenCV reads the limit from the environment when it is first imported.
MAX_IMAGE_PIXELS = 1 << 26


def load_image(path: Path, size: tuple[int, int], mean: tuple[float, float, float] = IMAGENET_MEAN_BGR) -> np.ndarray:
    """A 1x3xHxW float32 BGR image minus the per-channel mean (how Caffe's ImageNet models were fed)."""
    return load_image_as(path, size, Preprocessing(mean=tuple(mean)))


def load_image_as(path: Path, size: tuple[int, int], preprocessing: Preprocessing) -> np.ndarray:
    """A 1x3xHxW float32 image as `preprocessing` says (channel order, pixel range, mean, scale).

    The pixels are resized as floats (bilinear, pixel centres aligned, as caffe.io and OpenCV do),
    not as uint8: resizing uint8 rounds every interpolated value to an integer, up to 0.5 off the
    input the golden case recorded."""
    os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_IMAGE_PIXELS))
    try:
        import cv2
    except ImportError:
        raise ConverterError("reading images needs OpenCV: pip install 'squeeze-convert[opencv]' "
                             "(or 'opencv-python-headless<5')") from None
    try:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    except cv2.error:
        raise ConverterError(f"{path}: image too large (more than {MAX_IMAGE_PIXELS:,} pixels)") from None
    if image is None:
        raise ConverterError(f"{path}: not an image OpenCV can read")
    resized = cv2.resize(image.astype(np.float32), (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    pixels = resized.transpose(2, 0, 1)[None]  # BGR, 0-255
    if preprocessing.channel_order == "rgb":
        pixels = pixels[:, ::-1]
    return preprocessing.apply(pixels * np.float32(preprocessing.pixel_max / 255.0))


def ends_in_softmax(net: CaffeNet, blob: tuple[str, str]) -> bool:
    """Whether the (layer, top) a net's output comes from is a Softmax: its values are then
    probabilities, otherwise raw scores."""
    layer, _ = blob
    return any(candidate.name == layer and candidate.type == "Softmax" for candidate in net.layers)


def class_names(path: Path | None) -> list[str] | None:
    """ImageNet synset words ("n01440764 tench, Tinca tinca", possibly quoted), one per line, or None."""
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8", errors="replace")  # labels are only shown
    except OSError as error:
        raise ConverterError(f"{path}: cannot read ({error.strerror or error})") from None
    lines = (line.strip().strip("'\"") for line in text.splitlines())
    return [line.split(" ", 1)[-1] for line in lines if line]
