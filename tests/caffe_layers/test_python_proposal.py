"""py-faster-rcnn's Python ProposalLayer (the shipped plugin converter/bundled_plugins/py_faster_rcnn.py)
against its source written out here (emit_common.proposal_loop, with the anchors generate_anchors.py
records); OpenCV 4.14's importer does not run this Python layer."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import make_layer
from converter.bundled_plugins import py_faster_rcnn
from converter.errors import ModelError
from emit_common import FASTER_RCNN_ANCHORS, proposal_inputs, proposal_loop

LAYER = ('name: "proposal" type: "Python" bottom: "cls" bottom: "bbox" bottom: "im_info" top: "rois" '
         'python_param {{ module: "rpn.proposal_layer" layer: "ProposalLayer" param_str: "{}" }}')


def test_anchors_are_generate_anchors_ones() -> None:
    np.testing.assert_array_equal(py_faster_rcnn.base_anchors(), FASTER_RCNN_ANCHORS)


@pytest.mark.parametrize(("hw", "im_info", "seed"), [((5, 6), (80, 96, 1.0), 1), ((7, 4), (100, 60, 0.6), 2),
                                                     ((3, 3), (60, 50, 0.5), 3)])
def test_matches_the_python_layer(hw: tuple[int, int], im_info: tuple[float, float, float], seed: int) -> None:
    scores, deltas = proposal_inputs(*hw, seed)
    info = np.array([im_info], np.float32)
    layer = make_layer(LAYER.format("'feat_stride': 16"))
    assert py_faster_rcnn.output_shapes(layer, [scores.shape, deltas.shape, info.shape]) == [(300, 5)]
    (rois,) = py_faster_rcnn.forward(layer, [scores, deltas, info])
    expected, expected_scores = proposal_loop(scores, deltas, info)
    assert rois.dtype == np.float32 and len(expected) > 1
    np.testing.assert_array_equal(rois, expected)
    # With a second top, the kept boxes' scores.
    layer = make_layer(LAYER.replace('top: "rois"', 'top: "rois" top: "scores"').format("'feat_stride': 16"))
    assert py_faster_rcnn.output_shapes(layer, [scores.shape, deltas.shape, info.shape]) == [(300, 5), (300, 1)]
    rois, kept_scores = py_faster_rcnn.forward(layer, [scores, deltas, info])
    np.testing.assert_array_equal(rois, expected)
    np.testing.assert_array_equal(kept_scores, expected_scores)


def test_no_box_big_enough_gives_no_rows() -> None:
    # min_size 16 at image scale 3: 48 pixels, more than the 40x40 image holds.
    scores, deltas = proposal_inputs(3, 3, 4)
    (rois,) = py_faster_rcnn.forward(make_layer(LAYER.format("'feat_stride': 16")),
                                     [scores, deltas, np.array([[40, 40, 3.0]], np.float32)])
    assert rois.shape == (0, 5) and rois.dtype == np.float32


@pytest.mark.parametrize(("param_str", "message"), [
    ("", "must give feat_stride"),
    ("'feat_stride': 16, 'ratios': [1]", "ratios, which ProposalLayer does not read"),
    ("'feat_stride': -2", "positive integer"),
    ("feat_stride = 16", "not a mapping"),
])
def test_bad_param_str_names_the_layer(param_str: str, message: str) -> None:
    layer = make_layer(LAYER.format(param_str))
    with pytest.raises(ModelError, match=f"layer 'proposal'.*{message}"):
        py_faster_rcnn.output_shapes(layer, [(1, 18, 4, 4), (1, 36, 4, 4), (1, 3)])


def test_scales_from_param_str_set_the_anchor_count() -> None:
    layer = make_layer(LAYER.format("'feat_stride': 8, 'scales': [4, 8]"))
    assert py_faster_rcnn.output_shapes(layer, [(1, 12, 4, 4), (1, 24, 4, 4), (1, 3)]) == [(300, 5)]
    with pytest.raises(ModelError, match=r"scores must be \(1, 12, H, W\)"):
        py_faster_rcnn.output_shapes(layer, [(1, 18, 4, 4), (1, 36, 4, 4), (1, 3)])


def test_batch_of_one_only() -> None:
    layer = make_layer(LAYER.format("'feat_stride': 16"))
    with pytest.raises(ModelError, match="batch 1"):
        py_faster_rcnn.output_shapes(layer, [(2, 18, 4, 4), (2, 36, 4, 4), (2, 3)])


def test_shipped_through_the_entry_point_group(tmp_path) -> None:
    # The package declares the plugin as a squeeze_convert.plugins entry point (pyproject.toml), the
    # only way it is loaded: a net holding the Python layer loads with no --plugin, in an interpreter
    # that never imported the plugin (this module does, so a fresh one).
    import importlib.metadata
    import subprocess
    import sys

    import tomllib

    from conftest import ROOT
    from converter.plugins import ENTRY_POINT_GROUP

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"][ENTRY_POINT_GROUP]["py_faster_rcnn"] == "converter.bundled_plugins.py_faster_rcnn"
    installed = {ep.name: ep.value for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert installed["py_faster_rcnn"] == "converter.bundled_plugins.py_faster_rcnn"
    proposal = LAYER.format("'feat_stride': 16")
    prototxt = tmp_path / "rpn.prototxt"
    prototxt.write_text('input: "cls" input_shape { dim: 1 dim: 18 dim: 4 dim: 5 }\n'
                        'input: "bbox" input_shape { dim: 1 dim: 36 dim: 4 dim: 5 }\n'
                        'input: "im_info" input_shape { dim: 1 dim: 3 }\n'
                        f"layer {{ {proposal} }}\n")
    script = ("import sys\nfrom converter.caffe.loader import load_net\n"
              "assert 'converter.bundled_plugins.py_faster_rcnn' not in sys.modules\n"
              f"(layer,) = load_net({str(prototxt)!r}, None).layers\n"
              "print(layer.type, layer.top_shapes)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(" ", 1) == ["rpn.proposal_layer.ProposalLayer", "[(300, 5)]\n"]
