"""BatchNorm against BVLC Caffe (golden: scale factor 2.5 in layer_zoo, MobileNets) and hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, check_golden, golden_layers, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES

BN = LAYER_TYPES["BatchNorm"]


@pytest.mark.parametrize(("case", "name"), golden_layers("BatchNorm"))
def test_matches_caffe(case: str, name: str) -> None:
    check_golden(case, name)


def test_statistics_divided_by_the_scale_factor() -> None:
    x = np.array([[3.0, 5.0]], np.float32).reshape(1, 2, 1, 1)
    # Stored mean 4, 8 and variance 8, 32 with factor 4 -> mean 1, 2 and variance 2, 8.
    layer = make_layer('type: "BatchNorm" top: "y" batch_norm_param { eps: 2 }',
                       blobs=[[4, 8], [8, 32], [4]])
    (y,) = run(layer, x)
    np.testing.assert_allclose(y.ravel(), [(3 - 1) / 2, (5 - 2) / np.sqrt(10)], rtol=1e-6)


def test_zero_scale_factor_means_zero_statistics() -> None:
    x = np.array([[3.0, -4.0]], np.float32).reshape(1, 2)
    layer = make_layer('type: "BatchNorm" top: "y" batch_norm_param { eps: 0.25 }', blobs=[[7, 7], [9, 9], [0]])
    (y,) = run(layer, x)
    np.testing.assert_allclose(y.ravel(), [6, -8], rtol=1e-6)


def test_default_eps_is_1e_5() -> None:
    x = np.array([1.0], np.float32).reshape(1, 1)
    (y,) = run(make_layer('type: "BatchNorm" top: "y"', blobs=[[0], [1e-5], [1]]), x)
    np.testing.assert_allclose(y.ravel(), [1 / np.sqrt(2e-5)], rtol=1e-5)


def test_batch_statistics_when_use_global_stats_is_false(tmp_path) -> None:
    x = np.random.default_rng(5).standard_normal((3, 4, 5, 6)).astype(np.float32) * 2 + 1
    text = 'name: "bn" type: "BatchNorm" bottom: "x" top: "bn" batch_norm_param { use_global_stats: false }'
    blobs = [np.full(4, 100, np.float32), np.full(4, 100, np.float32), np.ones(1, np.float32)]
    layer = make_layer(text, blobs=blobs)
    (actual,) = run(layer, x)
    # Hand-computed over (N, H, W), biased variance, stored statistics ignored:
    mean = x.mean(axis=(0, 2, 3), keepdims=True, dtype=np.float64)
    var = ((x - mean) ** 2).mean(axis=(0, 2, 3), keepdims=True)
    assert_close(actual, ((x - mean) / np.sqrt(var + 1e-5)).astype(np.float32))
    # OpenCV implements batch statistics only for a batch of one.
    (cv,) = opencv_forward(tmp_path, text, {"x": x[:1]}, blobs)
    assert_close(run(layer, x[:1])[0], cv)


@pytest.mark.parametrize(("settings", "batch_statistics"), [
    ("phase: TRAIN", True),  # a layer's own phase replaces the net's TEST, and with it the default
    ("phase: TEST", False),
    ("phase: TRAIN batch_norm_param { use_global_stats: true }", False),
    ("batch_norm_param { use_global_stats: false }", True),
    ("", False),  # the net's phase, TEST
])
def test_use_global_stats_defaults_to_the_layer_phase_being_test(settings: str, batch_statistics: bool) -> None:
    # batch_norm_layer.cpp: use_global_stats_ = phase_ == TEST, unless use_global_stats is given;
    # net.cpp gives a layer the net's phase only when the layer sets none.
    x = np.random.default_rng(6).standard_normal((4, 2, 3, 3)).astype(np.float32) * 3 + 2
    mean, var = np.array([1, -1], np.float32), np.array([4, 9], np.float32)
    layer = make_layer(f'type: "BatchNorm" top: "y" {settings}', blobs=[mean, var, [1]])
    (actual,) = run(layer, x)
    if batch_statistics:
        mean = x.mean(axis=(0, 2, 3), dtype=np.float64)
        var = ((x - mean.reshape(1, 2, 1, 1)) ** 2).mean(axis=(0, 2, 3))
    expected = (x - mean.reshape(1, 2, 1, 1)) / np.sqrt(var.reshape(1, 2, 1, 1) + 1e-5)
    assert_close(actual, expected.astype(np.float32))


def test_blob_shapes() -> None:
    assert BN.blob_shapes(make_layer('type: "BatchNorm" top: "y"'), [(2, 7, 3, 3)]) == [(7,), (7,), (1,)]
