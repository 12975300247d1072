"""Images through a converted model, Caffe style (BGR, resized bilinearly, minus a mean, times a
scale): classification, and SSD detections printed and drawn."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from converter.caffe.net import CaffeNet
from converter.defaults import IMAGENET_MEAN_BGR
from converter.errors import ConverterError

# Refuse images of more pixels (8192 x 8192) before decoding them: a small file can declare a huge
# image. OpenCV reads the limit from the environment when it is first imported.
MAX_IMAGE_PIXELS = 1 << 26


def read_image(path: Path) -> np.ndarray:
    """The image as OpenCV reads it: H x W x 3, BGR, uint8."""
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
    return image


def preprocess(image: np.ndarray, size: tuple[int, int], mean: tuple[float, float, float],
               scale: float = 1.0) -> np.ndarray:
    """A 1x3xHxW float32 blob: the BGR pixels resized as floats (bilinear, pixel centres aligned, as
    caffe.io and OpenCV do), minus the per-channel mean, times `scale`.

    Resizing uint8 would round every interpolated value to an integer, up to 0.5 off the input the
    golden cases recorded."""
    import cv2

    resized = cv2.resize(image.astype(np.float32), (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    blob = (resized - np.array(mean, np.float32)).transpose(2, 0, 1)[None]
    return (blob * np.float32(scale)).astype(np.float32) if scale != 1.0 else blob.copy()


def load_image(path: Path, size: tuple[int, int], mean: tuple[float, float, float] = IMAGENET_MEAN_BGR) -> np.ndarray:
    """A 1x3xHxW float32 BGR image minus the per-channel mean (how Caffe's ImageNet models were fed)."""
    return preprocess(read_image(path), size, mean)


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


@dataclass(frozen=True)
class Detection:
    """One row of an SSD net's detection output, its box in the pixels of the original image."""

    label: int
    score: float
    box: tuple[float, float, float, float]  # xmin, ymin, xmax, ymax


def detections_in_pixels(rows: np.ndarray, image_hw: tuple[int, int], threshold: float) -> list[Detection]:
    """The rows [image, label, score, xmin, ymin, xmax, ymax] (coordinates relative to the net's
    input) of image 0 scoring at least `threshold`, scaled to an image of `image_hw`; Caffe's
    no-detection rows (label -1) are left out."""
    height, width = image_hw
    found = []
    for image, label, score, x0, y0, x1, y1 in np.asarray(rows, np.float64).reshape(-1, 7):
        if image == 0 and label >= 0 and score >= threshold:
            found.append(Detection(int(label), float(score), (x0 * width, y0 * height, x1 * width, y1 * height)))
    return found


def detection_labels(path: Path | None) -> dict[int, str]:
    """Class names by label: an SSD label map (`item { label: 1 display_name: "aeroplane" }`, as the
    SSD fork's labelmap_voc.prototxt), else one name per line, the first line label 0."""
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")  # names are only shown
    except OSError as error:
        raise ConverterError(f"{path}: cannot read ({error.strerror or error})") from None
    items = re.findall(r"item\s*\{([^}]*)\}", text)
    if items:
        names = {}
        for item in items:
            label = re.search(r"\blabel\s*:\s*(-?\d+)", item)
            name = re.search(r'\bdisplay_name\s*:\s*"([^"]*)"', item) or re.search(r'\bname\s*:\s*"([^"]*)"', item)
            if label and name:
                names[int(label.group(1))] = name.group(1)
        return names
    return {i: line.strip().strip("'\"") for i, line in enumerate(text.splitlines())}


def draw_detections(image: np.ndarray, detections: list[Detection], names: dict[int, str]) -> np.ndarray:
    """A copy of the BGR image with each box drawn and captioned with its class and score."""
    import cv2

    canvas = image.copy()
    thickness = max(1, round(min(image.shape[:2]) / 300))
    for d in detections:
        hue = (d.label * 47) % 180
        color = tuple(int(v) for v in cv2.cvtColor(np.uint8([[[hue, 220, 255]]]), cv2.COLOR_HSV2BGR)[0, 0])
        # Boxes are not clipped (Caffe's are not): keep far or infinite corners drawable.
        x0, y0, x1, y1 = (int(np.clip(np.nan_to_num(v), -1e5, 1e5)) for v in d.box)
        cv2.rectangle(canvas, (x0, y0), (x1, y1), color, thickness)
        caption = f"{names.get(d.label, d.label)} {d.score:.2f}"
        (w, h), base = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        top = max(y0, h + base)
        cv2.rectangle(canvas, (x0, top - h - base), (x0 + w, top), color, cv2.FILLED)
        cv2.putText(canvas, caption, (x0, top - base), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return canvas
