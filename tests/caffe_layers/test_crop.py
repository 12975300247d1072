"""Crop (BVLC crop_layer.cpp) against OpenCV's importer, and the bounds Caffe checks."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError

CROP = LAYER_TYPES["Crop"]


@pytest.mark.parametrize(
    ("params", "reference"),
    [("", (1, 1, 4, 5)), ("offset: 2", (1, 1, 4, 4)), ("axis: 2 offset: 1 offset: 3", (1, 1, 5, 3)),
     ("axis: 1 offset: 1", (1, 2, 3, 3)), ("axis: -1 offset: 4", (1, 1, 1, 2)),
     ("axis: 1 offset: 1 offset: 0 offset: 2", (2, 2, 5, 3))],
)
def test_matches_opencv(tmp_path, params: str, reference: tuple) -> None:
    x = np.random.default_rng(5).standard_normal((2, 4, 7, 6)).astype(np.float32)
    shape_of = np.zeros(reference, np.float32)
    text = f'name: "c" type: "Crop" bottom: "x" bottom: "ref" top: "c" crop_param {{ {params} }}'
    (expected,) = opencv_forward(tmp_path, text, {"x": x, "ref": shape_of})
    (actual,) = run(make_layer(text), x, shape_of)
    assert_close(actual, expected)


def test_fcn_style_crop_by_hand() -> None:
    # FCN-8s: upscore (axis 2, offset 19) cut to the data's spatial size; batch and channels kept.
    x = np.arange(2 * 3 * 40 * 41, dtype=np.float32).reshape(2, 3, 40, 41)
    (y,) = run(make_layer('type: "Crop" bottom: "x" bottom: "d" top: "y" crop_param { axis: 2 offset: 19 }'),
               x, np.zeros((1, 5, 8, 9), np.float32))
    np.testing.assert_array_equal(y, x[:, :, 19:27, 19:28])


@pytest.mark.parametrize(
    ("params", "shapes", "message"),
    [("offset: 3", [(1, 2, 5, 5), (1, 2, 3, 3)], "out of bounds"),
     ("axis: 1 offset: 1 offset: 1", [(1, 2, 5, 5), (1, 2, 3, 3)], "2 offsets for 3 cropped axes"),
     ("axis: 4", [(1, 2, 5, 5), (1, 2, 3, 3)], "axis 4 out of range"),
     ("", [(1, 2, 5, 5), (3, 3)], "fewer axes"),
     ("", [(1, 2, 5, 5)], "takes 2 bottom"),
     ("", [(1, 2, 2, 2), (1, 2, 3, 3)], "out of bounds")],
)
def test_rejects_what_caffe_rejects(params: str, shapes: list, message: str) -> None:
    layer = make_layer(f'name: "cr" type: "Crop" top: "y" crop_param {{ {params} }}')
    with pytest.raises(ModelError, match=message):
        CROP.output_shapes(layer, shapes)


# ------------------------------------------------------------------------- HED's Crop (s9xie/hed)
#
# No crop_param: HED's Caffe (longjon's future branch) aligns the bottoms by where each cell's centre
# falls. Per layer, a Convolution or Pooling top cell y sits at s * y + (k - 1) / 2 - p of its
# bottom; a Deconvolution top cell y sits at (y - ((k - 1) / 2 - p)) / s of its bottom (its coord_map
# is that FilterMap the other way); neuron layers keep positions. The offset is where bottom[1]'s
# cell 0 falls in bottom[0], both traced to the blob where their first-bottom paths meet.

# name -> (type, first bottom, kernel, stride, pad): a small HED side output and an FCN-like branch.
HED_LAYERS = {
    "conv1": ("Convolution", "data", 3, 1, 6),
    "pool1": ("Pooling", "conv1", 2, 2, 0),
    "conv2": ("Convolution", "pool1", 3, 1, 1),
    "score": ("Convolution", "conv2", 1, 1, 0),
    "up": ("Deconvolution", "score", 4, 2, 0),
    "pool2": ("Pooling", "conv2", 2, 2, 0),
    "up2": ("Deconvolution", "pool2", 4, 2, 0),
    "side": ("Convolution", "data", 5, 1, 0),
}
HED_NET = '''input: "data" input_shape { dim: 1 dim: 2 dim: 13 dim: 13 }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  convolution_param { num_output: 3 kernel_size: 3 pad: 6 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2"
  convolution_param { num_output: 3 kernel_size: 3 pad: 1 } }
layer { name: "score" type: "Convolution" bottom: "conv2" top: "score"
  convolution_param { num_output: 1 kernel_size: 1 } }
layer { name: "up" type: "Deconvolution" bottom: "score" top: "up"
  convolution_param { num_output: 1 kernel_size: 4 stride: 2 bias_term: false } }
layer { name: "crop" type: "Crop" bottom: "up" bottom: "data" top: "out" }
layer { name: "pool2" type: "Pooling" bottom: "conv2" top: "pool2"
  pooling_param { pool: AVE kernel_size: 2 stride: 2 } }
layer { name: "up2" type: "Deconvolution" bottom: "pool2" top: "up2"
  convolution_param { num_output: 3 kernel_size: 4 stride: 2 bias_term: false } }
layer { name: "crop" type: "Crop" bottom: "up2" bottom: "pool1" top: "out2" }
layer { name: "side" type: "Convolution" bottom: "data" top: "side" convolution_param { num_output: 1 kernel_size: 5 } }
layer { name: "crop" type: "Crop" bottom: "up" bottom: "side" top: "out_side" }
'''


def centre_in_input(blob: str, y: float) -> tuple[str, float]:
    """Cell y of `blob` traced back one layer: (its bottom, the position there)."""
    kind, bottom, k, s, p = HED_LAYERS[blob]
    if kind == "Deconvolution":
        return bottom, (y - ((k - 1) / 2 - p)) / s
    return bottom, s * y + (k - 1) / 2 - p


def hed_offset(cropped: str, reference: str) -> float:
    """Where `reference`'s cell 0 falls in `cropped`: both traced back to the blob where the paths meet."""
    trail, blob = [cropped], cropped
    while blob in HED_LAYERS:
        blob = HED_LAYERS[blob][1]
        trail.append(blob)
    position, blob = 0.0, reference
    while blob not in trail:
        blob, position = centre_in_input(blob, position)
    # From the meeting blob forward to `cropped`: invert each step of the cropped path.
    for step in reversed(trail[: trail.index(blob)]):
        kind, _, k, s, p = HED_LAYERS[step]
        position = s * position + (k - 1) / 2 - p if kind == "Deconvolution" else (position - ((k - 1) / 2 - p)) / s
    return position


def test_hed_crop_offsets_follow_the_coordinate_maps(tmp_path) -> None:
    from converter import pipeline
    from converter.caffe.fork_semantics import reset_caffe_fork, use_caffe_fork
    from converter.caffe.synthetic import write_synthetic_weights

    prototxt = tmp_path / "hed.prototxt"
    prototxt.write_text(HED_NET)
    weights = tmp_path / "hed.caffemodel"
    token = use_caffe_fork("hed")  # the library's form of --caffe-fork, for every net read meanwhile
    try:
        write_synthetic_weights(prototxt, weights, calibrate=False)
    finally:
        reset_caffe_fork(token)
    conversion = pipeline.convert(prototxt, weights, caffe_fork="hed")
    crops = {layer.tops[0]: layer for layer in conversion.net.layers if layer.type == "Crop"}
    expected = {"out": hed_offset("up", "data"), "out2": hed_offset("up2", "pool1"),
                "out_side": hed_offset("up", "side")}
    assert expected == {"out": 6.0, "out2": 1.0, "out_side": 8.0}  # the loop's numbers, for the reader
    for top, layer in crops.items():
        assert list(layer.param.crop_param.offset) == [expected[top]] * 2
        x = np.random.default_rng(8).standard_normal(layer.bottom_shapes[0]).astype(np.float32)
        (y,) = run(layer, x, np.zeros(layer.bottom_shapes[1], np.float32))
        offset = int(expected[top])
        h, w = layer.bottom_shapes[1][2:]
        np.testing.assert_array_equal(y, x[:, :, offset:offset + h, offset:offset + w])
    # Both exports, and OpenCV handed the offsets HED's Caffe computes.
    pipeline.emit(conversion)
    report = pipeline.run_verification(conversion, backends=("onnxruntime", "pytorch", "opencv"))
    assert all(c.ok for c in report.comparisons), [c for c in report.comparisons if not c.ok]
    assert {c.backend for c in report.comparisons} >= {"onnxruntime", "pytorch", "opencv"}
