"""PriorBox (SSD fork): every PriorBox blob the fork's Caffe recorded for the two SSD nets, the
parameter variants against OpenCV's PriorBox, the fork's int truncation of min/max sizes against
a loop written here from prior_box_layer.cpp, and the fork's refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from conftest import golden_case
from converter.caffe.layers import LAYER_TYPES
from converter.caffe.loader import load_net
from converter.errors import ModelError

PRIOR_BOX = LAYER_TYPES["PriorBox"]


@pytest.mark.parametrize("case", ["wild_res10_ssd_face", "wild_mobilenet_ssd"])
def test_every_recorded_prior_box(case: str) -> None:
    info = golden_case(case)
    net = load_net(info["prototxt_path"], None, {info["input_name"]: tuple(info["input_shape"])})
    blobs = np.load(info["blobs_path"])
    layers = [layer for layer in net.layers if layer.type == "PriorBox"]
    assert len(layers) == 6
    for layer in layers:
        inputs = [np.zeros(shape, np.float32) for shape in layer.bottom_shapes]
        (actual,) = run(layer, *inputs)
        assert_close(actual, blobs[f"layer|{layer.name}|{layer.tops[0]}"], layer.name)


# OpenCV requires a variance, and clamps coordinates below 0 even without `clip`: the boxes here
# stay inside the image unless clipped.
VARIANTS = {
    "plain": "min_size: 10 variance: 0.1",
    "max_size_ratios_flip": "min_size: 6 max_size: 9 aspect_ratio: 2 aspect_ratio: 3 flip: true variance: 0.1",
    "no_flip_repeated_ratio": "min_size: 8 aspect_ratio: 2 aspect_ratio: 2 aspect_ratio: 1 flip: false variance: 1",
    "clip_one_variance": "min_size: 30 max_size: 50 clip: true variance: 0.25",
    "four_variances_step": "min_size: 4 step: 6 variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2",
    "step_hw_offset": "min_size: 2 step_h: 5 step_w: 7 offset: 0.25 variance: 0.2",
}


@pytest.mark.parametrize("params", VARIANTS.values(), ids=VARIANTS.keys())
def test_matches_opencv(tmp_path, params: str) -> None:
    feature = np.zeros((1, 4, 5, 6), np.float32)
    image = np.zeros((1, 3, 60, 72), np.float32)
    text = f'name: "pb" type: "PriorBox" bottom: "f" bottom: "img" top: "pb" prior_box_param {{ {params} }}'
    (expected,) = opencv_forward(tmp_path, text, {"f": feature, "img": image})
    (actual,) = run(make_layer(text), feature, image)
    assert_close(actual, expected.reshape(actual.shape))


def fork_priors(feature_hw: tuple[int, int], image_hw: tuple[int, int], sides: list[tuple[float, float]],
                variance: float, step_hw: tuple[float, float] | None = None) -> np.ndarray:
    """prior_box_layer.cpp's loops: per cell (row-major) each box (width, height) around the cell
    centre (offset 0.5, step image / feature unless given), divided by the image size."""
    (fh, fw), (ih, iw) = feature_hw, image_hw
    sh, sw = step_hw or (ih / fh, iw / fw)
    coords = []
    for h in range(fh):
        for w in range(fw):
            cx, cy = (w + 0.5) * sw, (h + 0.5) * sh
            for bw, bh in sides:
                coords += [(cx - bw / 2) / iw, (cy - bh / 2) / ih, (cx + bw / 2) / iw, (cy + bh / 2) / ih]
    return np.array([coords, [variance] * len(coords)], np.float32)[None]


CASES = {  # params, feature (h, w), image (h, w) the fork uses, box sides, variance, step
    # min_size and max_size are read into ints: 7.9 -> 7, 12.6 -> 12
    "sizes_truncated_to_ints": ("min_size: 7.9 max_size: 12.6 aspect_ratio: 2 variance: 0.5", (2, 3), (20, 30),
                                [(7, 7), (math.sqrt(84), math.sqrt(84)), (7 * math.sqrt(2), 7 / math.sqrt(2)),
                                 (7 * math.sqrt(0.5), 7 / math.sqrt(0.5))], 0.5, None),
    # img_size / img_h, img_w replace the second bottom's size (OpenCV ignores them)
    "img_size": ("min_size: 8 img_size: 50 variance: 0.2", (5, 6), (50, 50), [(8, 8)], 0.2, None),
    "img_hw_step": ("min_size: 5 aspect_ratio: 0.5 flip: false img_h: 40 img_w: 60 step: 9 variance: 0.3", (5, 6),
                    (40, 60), [(5, 5), (5 * math.sqrt(0.5), 5 / math.sqrt(0.5))], 0.3, (9, 9)),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_matches_the_fork_loop(case: tuple) -> None:
    params, feature_hw, image_hw, sides, variance, step = case
    layer = make_layer(f'type: "PriorBox" bottom: "f" bottom: "img" top: "pb" prior_box_param {{ {params} }}')
    (actual,) = run(layer, np.zeros((1, 1, *feature_hw), np.float32), np.zeros((1, 3, 20, 30), np.float32))
    np.testing.assert_allclose(actual, fork_priors(feature_hw, image_hw, sides, variance, step), rtol=1e-6, atol=1e-7)


def test_reduce_boxes_halves_the_first_square() -> None:
    # chuanqi305's fork: with reduce_boxes the first prior of each min_size is min_size / 2 wide.
    layer = make_layer('type: "PriorBox" bottom: "f" top: "pb" prior_box_param { min_size: 8 img_size: 16 '
                       "reduce_boxes: true }")
    (actual,) = run(layer, np.zeros((1, 1, 1, 1), np.float32))
    np.testing.assert_allclose(actual[0, 0], [6 / 16, 6 / 16, 10 / 16, 10 / 16])


@pytest.mark.parametrize(("params", "message"), [
    ("aspect_ratio: 2", "must provide min_size"),
    ("min_size: 20 max_size: 10", "greater than min_size"),
    ("min_size: 20 max_size: 30 max_size: 40", "2 max_size values for 1"),
    ("min_size: 20 img_size: 30 img_h: 30 img_w: 30", "not both"),
    ("min_size: 20 step: 3 step_h: 3 step_w: 3", "not both"),
    ("min_size: 20 variance: 0.1 variance: 0.2", "exactly four"),
])
def test_refuses(params: str, message: str) -> None:
    layer = make_layer(f'name: "pb" type: "PriorBox" bottom: "f" bottom: "img" top: "pb" '
                       f"prior_box_param {{ {params} }}")
    with pytest.raises(ModelError, match=f"pb.*{message}"):
        PRIOR_BOX.output_shapes(layer, [(1, 4, 5, 6), (1, 3, 30, 36)])
