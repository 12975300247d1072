"""BatchNorm against its closed form (x - mean[c]) / sqrt(var[c] + eps) on channel dim 1."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import BatchNorm
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
