"""Dropout: the identity at test time (golden: SqueezeNet's drop9), not scaled by the ratio."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import check_golden, golden_layers, make_layer, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError
from converter.ir import Identity, Power
from converter.lift.registry import CONVERTERS


@pytest.mark.parametrize(("case", "name"), golden_layers("Dropout"))
def test_matches_caffe(case: str, name: str) -> None:
    check_golden(case, name)


def test_identity_whatever_the_ratio() -> None:
    x = np.array([[-1.5, 0, 2, 8]], np.float32)
    (y,) = run(make_layer('type: "Dropout" top: "y" dropout_param { dropout_ratio: 0.3 }'), x)
    np.testing.assert_array_equal(y, [[-1.5, 0, 2, 8]])
    assert not np.shares_memory(x, y)


def test_takes_one_bottom() -> None:
    with pytest.raises(ModelError):
        LAYER_TYPES["Dropout"].output_shapes(make_layer('name: "d" type: "Dropout" top: "y"'), [(1, 2), (1, 2)])


def test_fast_rcnn_scale_train_false_scales_at_test_time() -> None:
    # caffe-fast-rcnn's dropout_layer.cpp: scale_ = 1. / (1. - threshold_) stored as float, then
    # caffe_scal(count, 1. / scale_, top) at test time.
    x = np.array([[-1.5, 0, 2, 8]], np.float32)
    layer = make_layer('name: "d" type: "Dropout" top: "y" dropout_param { dropout_ratio: 0.3 scale_train: false }')
    (y,) = run(layer, x)
    factor = np.float32(1.0 / float(np.float32(1.0 / (1.0 - float(np.float32(0.3))))))
    np.testing.assert_array_equal(y, x * factor)
    node = CONVERTERS["Dropout"](layer)
    assert isinstance(node, Power) and node.scale == float(factor) and node.shift == 0 and node.power == 1
    assert isinstance(CONVERTERS["Dropout"](make_layer('name: "d" type: "Dropout" top: "y"')), Identity)
