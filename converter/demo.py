"""Image classification with a converted model, Caffe style: BGR, resized bilinearly, minus a mean."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from converter.errors import ConverterError

IMAGENET_MEAN_BGR = (104.0, 117.0, 123.0)


def load_image(path: Path, size: tuple[int, int], mean: tuple[float, float, float] = IMAGENET_MEAN_BGR) -> np.ndarray:
    """A 1x3xHxW float32 BGR image minus the per-channel mean (how Caffe's ImageNet models were fed).

    The pixels are resized as floats (bilinear, pixel centres aligned, as caffe.io and OpenCV do),
    not as uint8: resizing uint8 rounds every interpolated value to an integer, up to 0.5 off the
    input the golden case recorded."""
    try:
        import cv2
    except ImportError:
        raise ConverterError("reading images needs OpenCV: pip install 'opencv-python-headless<5'") from None
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ConverterError(f"{path}: not an image OpenCV can read")
    resized = cv2.resize(image.astype(np.float32), (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    return (resized - np.array(mean, np.float32)).transpose(2, 0, 1)[None].copy()


def top5(scores: np.ndarray) -> list[int]:
    return [int(i) for i in np.argsort(-scores.reshape(-1), kind="stable")[:5]]


def class_names(path: Path | None) -> list[str] | None:
    """ImageNet synset words ("n01440764 tench, Tinca tinca", possibly quoted), one per line, or None."""
    if path is None:
        return None
    lines = (line.strip().strip("'\"") for line in path.read_text().splitlines())
    return [line.split(" ", 1)[-1] for line in lines if line]
