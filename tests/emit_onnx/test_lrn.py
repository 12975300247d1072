"""Lrn: across channels against torch.nn.functional.local_response_norm, within channel against a
numpy loop of the IR docstring."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from converter.ir import Lrn
from emit_common import lrn_within_loop
from emit_onnx.helpers import check, graph_of, ops

# x * base^-beta: x / base^beta by square roots for beta 0.5, 0.75 and 1 (ONNX Runtime's Pow is 2x
# slower), Pow otherwise; onnxruntime's LRN kernel is 3x slower than the band convolution.
LAST_STEPS = {0.75: ["Sqrt", "Sqrt", "Mul", "Div"], 0.5: ["Sqrt", "Div"], 1.0: ["Div"], 1.5: ["Pow", "Mul"]}


@pytest.mark.parametrize(("size", "alpha", "beta", "k"), [(5, 1e-4, 0.75, 1.0), (3, 0.5, 0.75, 2.0),
                                                          (5, 2.0, 1.5, 1.0), (1, 0.3, 0.5, 1.5),
                                                          (3, 0.7, 1.0, 0.5)])
def test_across_channels(size: int, alpha: float, beta: float, k: float) -> None:
    node = Lrn(name="norm1", inputs=["x"], outputs=["y"], size=size, alpha=alpha, beta=beta, k=k)
    graph = graph_of(node, {"x": (2, 7, 4, 5), "y": (2, 7, 4, 5)})
    model = check(graph, lambda x: F.local_response_norm(torch.from_numpy(x), size, alpha, beta, k).numpy())
    assert ops(model) == ["Mul", "Conv", *LAST_STEPS[beta]]
    assert model.graph.node[-1].name == "norm1"


@pytest.mark.parametrize("beta", [0.75, 0.5])
def test_square_roots_as_exact_as_pow(beta: float) -> None:
    # AlexNet's LRN on activations up to ~300 (bases up to ~50): within 4 ulp of the float64 loop.
    node = Lrn(name="norm1", inputs=["x"], outputs=["y"], size=5, alpha=1e-4, beta=beta, k=1.0)
    graph = graph_of(node, {"x": (1, 16, 6, 6), "y": (1, 16, 6, 6)})
    wide = {"x": lambda shape, seed: (np.random.default_rng(seed).standard_normal(shape) * 100).astype(np.float32)}
    check(graph, lambda x: across_loop(x, 5, 1e-4, beta, 1.0), batches=(1,), inputs=wide, rtol=5e-7, atol=0)


@pytest.mark.parametrize("beta", [0.75, 0.5, 1.0])
def test_square_roots_give_nan_where_pow_does(beta: float) -> None:
    # k = 0: a zero window gives 0 * 0^-beta = NaN in the source framework; a negative alpha makes the
    # base negative, and a negative base to a fractional power is NaN (for beta 1: x / base).
    node = Lrn(name="n", inputs=["x"], outputs=["y"], size=3, alpha=-3.0, beta=beta, k=0.0)
    graph = graph_of(node, {"x": (1, 4, 1, 2), "y": (1, 4, 1, 2)})
    x = np.array([0, 0, 0, 0, 0, 0, 1, 2], np.float32).reshape(1, 4, 2, 1).transpose(0, 1, 3, 2).copy()
    expected = across_loop(x, 3, -3.0, beta, 0.0)
    assert np.isnan(expected[0, 0, 0, 0]) and (np.isnan(expected[0, 3, 0]).all() == (beta != 1.0))
    check(graph, lambda _: expected, batches=(1,), inputs={"x": lambda s, seed: x})


def test_across_channels_by_hand() -> None:
    # y = x / (k + alpha/size * sum of x^2 over the channel and its neighbours)^beta, size 3.
    node = Lrn(name="n", inputs=["x"], outputs=["y"], size=3, alpha=3.0, beta=1.0, k=1.0)
    graph = graph_of(node, {"x": (1, 3, 1, 1), "y": (1, 3, 1, 1)})
    x = np.array([1.0, 2.0, 3.0], np.float32).reshape(1, 3, 1, 1)
    check(graph, lambda _: np.array([1 / (1 + 5), 2 / (1 + 14), 3 / (1 + 13)], np.float32).reshape(1, 3, 1, 1),
          batches=(1,), inputs={"x": lambda s, seed: x})


@pytest.mark.parametrize(("size", "alpha", "beta"), [(3, 0.05, 0.75), (5, 1.0, 0.5), (1, 0.5, 1.0)])
def test_within_channel(size: int, alpha: float, beta: float) -> None:
    node = Lrn(name="norm", inputs=["x"], outputs=["y"], size=size, alpha=alpha, beta=beta, across_channels=False)
    graph = graph_of(node, {"x": (2, 3, 6, 5), "y": (2, 3, 6, 5)})
    model = check(graph, lambda x: lrn_within_loop(x, size, alpha, beta))
    assert model.graph.node[-1].name == "norm"
    assert all(n.name.startswith("norm/") for n in model.graph.node[:-1])


def test_within_channel_constant_term_is_one() -> None:
    # Like the source framework (and the PyTorch emitter), within-channel LRN does not use k.
    node = Lrn(name="norm", inputs=["x"], outputs=["y"], size=3, alpha=0.5, beta=0.75, k=2.0, across_channels=False)
    graph = graph_of(node, {"x": (1, 2, 4, 4), "y": (1, 2, 4, 4)})
    check(graph, lambda x: lrn_within_loop(x, 3, 0.5, 0.75))


def across_loop(x: np.ndarray, size: int, alpha: float, beta: float, k: float) -> np.ndarray:
    """The IR docstring: x / (k + alpha/size * sum of x^2 over `size` channels centred on c)^beta."""
    half = (size - 1) // 2
    c = x.shape[1]
    y = np.empty_like(x)
    for ch in range(c):
        total = (x[:, max(ch - half, 0) : ch + half + 1].astype(np.float64) ** 2).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            y[:, ch] = x[:, ch] * (k + alpha / size * total) ** -beta
    return y


@pytest.mark.parametrize(("alpha", "beta", "k"), [(0.0, 0.75, 2.0), (1.0, 0.0, 1.0), (0.5, -0.5, 1.0),
                                                  (-0.1, 0.75, 3.0)])
def test_across_channels_outside_onnxruntimes_lrn(alpha: float, beta: float, k: float) -> None:
    # onnxruntime's LRN kernel refuses alpha <= 0 or beta <= 0; the source framework computes them.
    node = Lrn(name="norm", inputs=["x"], outputs=["y"], size=3, alpha=alpha, beta=beta, k=k)
    graph = graph_of(node, {"x": (2, 5, 3, 4), "y": (2, 5, 3, 4)})
    model = check(graph, lambda x: across_loop(x, 3, alpha, beta, k))
    assert "LRN" not in ops(model) and model.graph.node[-1].name == "norm"


def test_across_channels_built_up_by_hand() -> None:
    # Size 3, alpha 0 is refused by onnxruntime's LRN: y = x * k^-beta = x / 4 for k 2, beta 2.
    node = Lrn(name="n", inputs=["x"], outputs=["y"], size=3, alpha=0.0, beta=2.0, k=2.0)
    graph = graph_of(node, {"x": (1, 3, 1, 2), "y": (1, 3, 1, 2)})
    check(graph, lambda x: x / 4, batches=(1, 2))
