"""The comparison rule of verification, from ../shared/golden/README.md: per blob,
max|a-b| <= tolerance * max(1, max|b|); non-finite values must agree exactly."""

from __future__ import annotations

import numpy as np
import pytest

from converter.verify import compare

INF, NAN = np.inf, np.nan


@pytest.mark.parametrize(("actual", "expected", "ok"), [
    ([1.0, 2.0], [1.0, 2.0001], True),          # 1e-4 * max(1, 2.0001) allows 2.0001e-4
    ([1.0, 2.0], [1.0, 2.0003], False),
    ([0.0, 0.00005], [0.0, 0.0], True),         # small blobs: the bound is 1e-4 absolute
    ([0.0, 0.0002], [0.0, 0.0], False),
    ([1000.0], [1000.09], True),                # large blobs: relative
    ([1000.0], [1000.2], False),
    ([-INF, 1.0], [-INF, 1.0], True),           # the same infinity where Caffe has one
    ([INF, 1.0], [-INF, 1.0], False),
    ([NAN, 1.0], [NAN, 1.0], True),
    ([NAN, 1.0], [0.0, 1.0], False),
    ([0.0, 1.0], [NAN, 1.0], False),
    ([INF, 1.0], [3e38, 1.0], False),
    ([1e6, -INF], [1e6 + 200, -INF], False),    # the finite part still has to agree
])
def test_rule(actual, expected, ok):
    assert compare(np.array(actual, np.float32), np.array(expected, np.float32), 1e-4)[2] is ok


def test_errors_are_measured_on_finite_values():
    max_abs, rel, ok = compare(np.array([INF, 2.0, 4.0]), np.array([INF, 2.0, 4.002]), 1e-4)
    assert ok is False and max_abs == pytest.approx(0.002) and rel == pytest.approx(0.002 / 4.002)


def test_shapes_must_agree():
    assert compare(np.zeros((1, 2)), np.zeros((2, 1)), 1e-4) == (INF, INF, False)


def test_a_net_whose_blobs_hold_infinities_verifies(tmp_path):
    """ReLU then Log: every negative input becomes log(0) = -inf, in Caffe and in the conversions."""
    from converter import pipeline

    proto = tmp_path / "log.prototxt"
    proto.write_text('input: "x" input_shape { dim: 1 dim: 2 dim: 3 dim: 3 }\n'
                     'layer { name: "relu" type: "ReLU" bottom: "x" top: "r" }\n'
                     'layer { name: "log" type: "Log" bottom: "r" top: "y" log_param { base: 10 } }\n')
    conversion = pipeline.convert(proto)
    x = np.linspace(-1, 1, 18, dtype=np.float32).reshape(1, 2, 3, 3)
    report = pipeline.run_verification(conversion, inputs={"x": x})
    rows = [c for c in report.comparisons if c.blob == "log|y"]
    assert {c.backend for c in rows} == {"onnxruntime", "pytorch"} and report.passed, report.first_failure


def test_an_argmax_mask_must_agree_exactly(tmp_path):
    """A Pooling's mask holds cell indices: on a 120x120 plane an index off by one is within
    1e-4 * 14399 of the truth, yet names another cell; it fails, while the values beside it pass."""
    from converter import pipeline
    from converter.verify import verify

    proto = tmp_path / "mask.prototxt"
    proto.write_text('input: "x" input_shape { dim: 1 dim: 1 dim: 120 dim: 120 }\n'
                     'layer { name: "pool" type: "Pooling" bottom: "x" top: "y" top: "mask" '
                     "pooling_param { pool: MAX kernel_size: 2 stride: 2 } }\n")
    conversion = pipeline.convert(proto)
    x = np.random.default_rng(0).standard_normal((1, 1, 120, 120)).astype(np.float32)

    def off_by_one(graph, inputs):
        # 2x2 blocks of distinct values: the maximum and the index of its cell, one block at a time.
        blocks = inputs["x"].reshape(1, 1, 60, 2, 60, 2).transpose(0, 1, 2, 4, 3, 5).reshape(1, 1, 60, 60, 4)
        r, q = np.divmod(blocks.argmax(axis=-1), 2)
        mask = ((2 * np.arange(60)[:, None] + r) * 120 + 2 * np.arange(60)[None, :] + q).astype(np.float32)
        mask[0, 0, -1, -1] += 1
        return {"y": blocks.max(axis=-1), "mask": mask}

    report = verify(conversion.net, conversion.graph, {"spoiled": off_by_one}, {"x": x})
    rows = {(c.blob, c.backend): c for c in report.comparisons}
    assert rows["pool|y", "spoiled"].ok and not rows["pool|mask", "spoiled"].ok
    assert rows["pool|mask", "spoiled"].max_abs_err == 1


DETECTIONS = np.array([[0, 1, 0.9, 0.1, 0.1, 0.4, 0.4],
                       [0, 1, 0.80005, 0.5, 0.5, 0.9, 0.9],
                       [0, 1, 0.8, 0.2, 0.6, 0.3, 0.7],
                       [0, 2, 0.8, 0.0, 0.0, 0.2, 0.2],
                       [0, 2, 0.7, 0.3, 0.3, 0.6, 0.6]], np.float32).reshape(1, 1, 5, 7)


def _swapped(rows: np.ndarray, i: int, j: int) -> np.ndarray:
    out = rows.copy()
    out[0, 0, [i, j]] = out[0, 0, [j, i]]
    return out


@pytest.mark.parametrize(("actual", "ok"), [
    (DETECTIONS, True),
    (_swapped(DETECTIONS, 1, 2), True),     # scores 0.80005 and 0.8 tie within tolerance: either order
    (_swapped(DETECTIONS, 0, 1), False),    # 0.9 before 0.80005 is not a tie
    (_swapped(DETECTIONS, 2, 3), False),    # equal scores but another label: labels come in order
    (DETECTIONS[:, :, :4], False),          # another detection count
    (np.where(np.arange(7) == 6, DETECTIONS + 0.01, DETECTIONS), False),  # a box edge off
])
def test_scored_rows_compare_as_a_set_where_scores_tie(actual, ok):
    from converter.caffe.layers import LAYER_TYPES
    from converter.verify import compare_scored_rows

    layout = LAYER_TYPES["DetectionOutput"].scored_rows
    assert layout is not None
    assert compare_scored_rows(actual, DETECTIONS, 1e-4, layout)[2] is ok
    # the plain rule still orders rows strictly
    assert compare(actual, DETECTIONS, 1e-4)[2] is (ok and actual is DETECTIONS)
