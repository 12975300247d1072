"""BatchNorm + Scale folding: the folded convolution computes the unfolded chain's closed form."""

from __future__ import annotations

import numpy as np

from converter.ir import BatchNorm, Conv, Graph, Scale, Tensor
from converter.passes.batchnorm import fold_batchnorm


def test_conv_bn_scale_fold_to_one_conv():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 2, 1, 1)).astype(np.float32)
    b = rng.normal(size=3).astype(np.float32)
    # eps as large as var: folding without it (or adding it twice) is far outside the tolerance.
    eps = 0.5
    mean, var = rng.normal(size=3).astype(np.float32), rng.uniform(0.1, 0.5, 3).astype(np.float32)
    gamma, beta = rng.normal(size=3).astype(np.float32), rng.normal(size=3).astype(np.float32)
    nodes = [Conv(name="c", inputs=["x"], outputs=["c"], weight=w, bias=b),
             BatchNorm(name="bn", inputs=["c"], outputs=["n"], mean=mean, var=var, eps=eps),
             Scale(name="sc", inputs=["n"], outputs=["y"], gamma=gamma, beta=beta)]
    graph = Graph("g", ["x"], ["y"], nodes)
    graph.tensors = {t: Tensor(t, (1, 3, 1, 1)) for t in ("c", "n", "y")} | {"x": Tensor("x", (1, 2, 1, 1))}
    assert fold_batchnorm(graph) == 2
    (conv,) = graph.nodes
    assert conv.outputs == ["y"] and set(graph.tensors) == {"x", "y"}
    x = rng.normal(size=2)
    expected = gamma * ((w[:, :, 0, 0] @ x + b) - mean) / np.sqrt(var + eps) + beta
    folded = conv.weight[:, :, 0, 0] @ x + conv.bias
    np.testing.assert_allclose(folded, expected, rtol=1e-5, atol=1e-5)


def test_batch_statistics_are_never_folded():
    # (conv - batch mean) / batch std depends on the batch: no fixed weights can give it.
    w, b = np.ones((3, 2, 1, 1), np.float32), np.zeros(3, np.float32)
    gamma, beta = np.full(3, 2, np.float32), np.ones(3, np.float32)
    nodes = [Conv(name="c", inputs=["x"], outputs=["c"], weight=w, bias=b),
             BatchNorm(name="bn", inputs=["c"], outputs=["n"], mean=None, var=None, batch_statistics=True),
             Scale(name="sc", inputs=["n"], outputs=["y"], gamma=gamma, beta=beta)]
    graph = Graph("g", ["x"], ["y"], list(nodes))
    graph.tensors = {t: Tensor(t, (2, 3, 1, 1)) for t in ("c", "n", "y")} | {"x": Tensor("x", (2, 2, 1, 1))}
    assert fold_batchnorm(graph) == 0
    assert graph.nodes == nodes and nodes[0].weight is w
