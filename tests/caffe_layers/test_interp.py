"""Interp (DeepLab v2 / PSPNet interp_layer.cpp over caffe_cpu_interp2) against a loop written from
the fork's C++ (float32 ratios and weights: emit_common.interp_loop, which the emitter tests share) and
OpenCV's importer where it reads the same fields."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError
from emit_common import interp_loop as fork_loop

INTERP = LAYER_TYPES["Interp"]


CASES = {
    "zoom_factor": ("zoom_factor: 2", (9, 13)),
    "shrink_factor": ("shrink_factor: 2", (3, 4)),
    "height_width": ("height: 11 width: 3", (11, 3)),
    "shrink_then_zoom": ("shrink_factor: 2 zoom_factor: 3", (7, 10)),
    "cropped": ("pad_beg: -1 pad_end: -1 zoom_factor: 2", (5, 9)),
    "one_row": ("height: 1 width: 4", (1, 4)),
    "same_size": ("height: 5 width: 7", (5, 7)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_the_fork_loop(case: str) -> None:
    params, (oh, ow) = CASES[case]
    x = np.random.default_rng(4).standard_normal((2, 3, 5, 7)).astype(np.float32)
    layer = make_layer(f'type: "Interp" top: "y" interp_param {{ {params} }}')
    (y,) = run(layer, x)
    p = layer.param.interp_param
    expected = fork_loop(x, oh, ow, p.pad_beg, p.pad_end)
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)


def test_size_of_a_second_bottom() -> None:
    x = np.random.default_rng(4).standard_normal((1, 2, 4, 6)).astype(np.float32)
    (y,) = run(make_layer('type: "Interp" top: "y"'), x, np.zeros((1, 5, 7, 3), np.float32))
    np.testing.assert_allclose(y, fork_loop(x, 7, 3), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("params", ["zoom_factor: 2", "height: 11 width: 3", "height: 4 width: 10"])
def test_matches_opencv(tmp_path, params: str) -> None:
    # OpenCV 4.14 gives an empty top for shrink_factor alone: the fork loop covers that one.
    x = np.random.default_rng(7).standard_normal((1, 3, 5, 7)).astype(np.float32)
    text = f'name: "i" type: "Interp" bottom: "x" top: "i" interp_param {{ {params} }}'
    (expected,) = opencv_forward(tmp_path, text, {"x": x})
    assert_close(run(make_layer(text), x)[0], expected)


@pytest.mark.parametrize(("params", "message"), [("pad_beg: 1 zoom_factor: 2", "at most 0"),
                                                 ("zoom_factor: 0", "at least 1"), ("", "none of"),
                                                 ("pad_beg: -3 pad_end: -3 zoom_factor: 2", "leave nothing")])
def test_refuses(params: str, message: str) -> None:
    layer = make_layer(f'name: "i" type: "Interp" top: "y" interp_param {{ {params} }}')
    with pytest.raises(ModelError, match=message):
        INTERP.output_shapes(layer, [(1, 2, 5, 5)])
