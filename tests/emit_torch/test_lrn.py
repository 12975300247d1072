"""Lrn against numpy loops written from the IR docstring: across channels (window of `size`
channels centred on each, clipped at the ends), and within a channel (emit_common.lrn_within_loop)."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Lrn
from emit_common import lrn_within_loop
from emit_torch.helpers import check, graph_of


def across_loop(x: np.ndarray, size: int, alpha: float, beta: float, k: float) -> np.ndarray:
    half = (size - 1) // 2
    y = np.empty_like(x)
    for c in range(x.shape[1]):
        total = (x[:, max(c - half, 0) : c + half + 1].astype(np.float64) ** 2).sum(axis=1)
        y[:, c] = x[:, c] / (k + alpha / size * total) ** beta
    return y


@pytest.mark.parametrize(("size", "alpha", "beta", "k"), [(5, 1e-4, 0.75, 1.0), (3, 0.5, 0.75, 2.0),
                                                          (5, 2.0, 1.5, 1.0), (1, 0.3, 0.5, 1.5)])
def test_across_channels(size: int, alpha: float, beta: float, k: float) -> None:
    node = Lrn(name="norm1", inputs=["x"], outputs=["y"], size=size, alpha=alpha, beta=beta, k=k)
    emitted = check(graph_of(node, {"x": (2, 7, 4, 5), "y": (2, 7, 4, 5)}),
                    lambda x: across_loop(x, size, alpha, beta, k))
    assert emitted.kinds() == ["LocalResponseNorm"]


def test_across_channels_by_hand() -> None:
    # y = x / (k + alpha/size * sum of x^2 over the channel and its neighbours)^beta, size 3.
    node = Lrn(name="n", inputs=["x"], outputs=["y"], size=3, alpha=3.0, beta=1.0, k=1.0)
    x = np.array([1.0, 2.0, 3.0], np.float32).reshape(1, 3, 1, 1)
    check(graph_of(node, {"x": (1, 3, 1, 1), "y": (1, 3, 1, 1)}),
          lambda _: np.array([1 / (1 + 5), 2 / (1 + 14), 3 / (1 + 13)], np.float32).reshape(1, 3, 1, 1),
          batches=(1,), inputs={"x": lambda s, seed: x})


@pytest.mark.parametrize(("size", "alpha", "beta"), [(3, 0.05, 0.75), (5, 1.0, 0.5), (1, 0.5, 1.0)])
def test_within_channel(size: int, alpha: float, beta: float) -> None:
    node = Lrn(name="norm", inputs=["x"], outputs=["y"], size=size, alpha=alpha, beta=beta, across_channels=False)
    emitted = check(graph_of(node, {"x": (2, 3, 6, 5), "y": (2, 3, 6, 5)}),
                    lambda x: lrn_within_loop(x, size, alpha, beta))
    assert emitted.kinds() == ["LrnWithinChannel"]


def test_within_channel_constant_term_is_one() -> None:
    # Like the source framework (and the ONNX emitter), within-channel LRN does not use k.
    node = Lrn(name="norm", inputs=["x"], outputs=["y"], size=3, alpha=0.5, beta=0.75, k=2.0, across_channels=False)
    check(graph_of(node, {"x": (1, 2, 4, 4), "y": (1, 2, 4, 4)}), lambda x: lrn_within_loop(x, 3, 0.5, 0.75))


@pytest.mark.parametrize(("alpha", "beta", "k"), [(0.0, 0.75, 2.0), (1.0, 0.0, 1.0), (0.5, -0.5, 1.0),
                                                  (-0.1, 0.75, 3.0), (-1.0, 0.5, 1.0)])
def test_across_channels_with_alpha_or_beta_not_positive(alpha: float, beta: float, k: float) -> None:
    # Caffe computes these (onnxruntime's LRN refuses them); a negative base raised to a fractional
    # power is NaN there as here.
    node = Lrn(name="norm", inputs=["x"], outputs=["y"], size=3, alpha=alpha, beta=beta, k=k)

    def expected(x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return across_loop(x, 3, alpha, beta, k)

    check(graph_of(node, {"x": (2, 5, 3, 4), "y": (2, 5, 3, 4)}), expected)


@pytest.mark.parametrize(("alpha", "beta"), [(0.0, 0.75), (1.0, 0.0), (0.5, -0.5), (-0.3, 0.75)])
def test_within_channel_with_alpha_or_beta_not_positive(alpha: float, beta: float) -> None:
    node = Lrn(name="norm", inputs=["x"], outputs=["y"], size=3, alpha=alpha, beta=beta, across_channels=False)

    def expected(x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return lrn_within_loop(x, 3, alpha, beta)

    check(graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}), expected)
