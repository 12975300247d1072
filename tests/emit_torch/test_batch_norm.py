"""BatchNorm against its closed form (x - mean[c]) / sqrt(var[c] + eps) on channel dim 1."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import BatchNorm
from emit_common import batch_statistics_norm
from emit_torch.helpers import check, graph_of, rand


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 3), (2, 3, 7)])
def test_batch_norm(shape: tuple[int, ...]) -> None:
    mean, var = rand((3,), 1), rand((3,), 2, 0.1, 2.0)
    node = BatchNorm(name="bn", inputs=["x"], outputs=["y"], mean=mean, var=var, eps=1e-3)
    per_channel = (1, 3) + (1,) * (len(shape) - 2)
    emitted = check(graph_of(node, {"x": shape, "y": shape}),
                    lambda x: (x - mean.reshape(per_channel)) / np.sqrt(var.reshape(per_channel) + 1e-3))
    assert emitted.kinds() == ["BatchNorm"]
    assert emitted.shapes() == {"layers.bn.mean": (3,), "layers.bn.var": (3,)}


def test_one_dimensional_input_is_one_channel() -> None:
    node = BatchNorm(name="bn", inputs=["x"], outputs=["y"], mean=np.array([0.5], np.float32),
                     var=np.array([4.0], np.float32), eps=0.25)
    check(graph_of(node, {"x": (6,), "y": (6,)}), lambda x: (x - 0.5) / np.sqrt(4.25))


def test_zero_variance_and_eps_divide_by_zero_as_the_formula_does() -> None:
    # eps 0 (Caffe accepts it) and a zero variance: (x - mean) / 0 is +-inf (NaN where x == mean), in
    # Caffe's float32 steps: subtract the mean, add eps to the variance, take the root, divide.
    # (F.batch_norm multiplies by 1 / sqrt(var + eps) and adds -mean / sqrt(...): NaN for mean 0.)
    mean, var = np.array([0.0, 1.0, -1.0], np.float32), np.array([0.0, 2.0, 0.0], np.float32)
    node = BatchNorm(name="bn", inputs=["x"], outputs=["y"], mean=mean, var=var, eps=0.0)

    def caffe_steps(x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (x - mean.reshape(1, 3, 1, 1)) / np.sqrt(var.reshape(1, 3, 1, 1) + np.float32(0.0))

    check(graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}), caffe_steps, rtol=1e-6, atol=0)


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 3), (2, 3, 7), (6,)])
def test_batch_statistics(shape: tuple[int, ...]) -> None:
    node = BatchNorm(name="bn", inputs=["x"], outputs=["y"], mean=None, var=None, eps=1e-3, batch_statistics=True)
    emitted = check(graph_of(node, {"x": shape, "y": shape}), lambda x: batch_statistics_norm(x, 1e-3),
                    batches=(1, 2, 5), inputs={"x": lambda s, seed: rand(s, seed, 3.0, 9.0)}, rtol=1e-4, atol=1e-4)
    assert emitted.kinds() == ["BatchStatisticsNorm"]
    assert emitted.shapes() == {}
