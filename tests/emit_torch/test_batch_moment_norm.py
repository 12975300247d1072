"""BatchMomentNorm against its docstring in numpy (raw moments per channel, then factor and addend)."""

from __future__ import annotations

import pytest

from converter.ir import BatchMomentNorm
from emit_common import batch_moment_norm
from emit_torch.helpers import check, graph_of, rand


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 3), (2, 3, 7)])
def test_batch_moment_norm(shape: tuple[int, ...]) -> None:
    gamma, beta = rand((3,), 1, 0.5, 2.0), rand((3,), 2)
    node = BatchMomentNorm(name="bn", inputs=["x"], outputs=["y"], gamma=gamma, beta=beta, eps=1e-3)
    emitted = check(graph_of(node, {"x": shape, "y": shape}), lambda x: batch_moment_norm(x, gamma, beta, 1e-3),
                    batches=(1, 2, 5), inputs={"x": lambda s, seed: rand(s, seed, 3.0, 9.0)}, rtol=1e-4, atol=1e-4)
    assert emitted.kinds() == ["BatchMomentNorm"]
    assert emitted.shapes() == {"layers.bn.weight": (3,), "layers.bn.bias": (3,)}
