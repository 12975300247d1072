"""Eltwise against numpy: sum (with coefficients), product, maximum of all inputs."""

from __future__ import annotations

import numpy as np

from emit_common import eltwise_graph
from emit_torch.helpers import check


def test_sum() -> None:
    emitted = check(eltwise_graph("sum", 3), lambda a, b, c: a + b + c)
    assert emitted.kinds() == ["Eltwise"]


def test_sum_with_coefficients() -> None:
    check(eltwise_graph("sum", 3, [0.5, -1.0, 2.0]), lambda a, b, c: 0.5 * a - b + 2 * c)


def test_prod() -> None:
    check(eltwise_graph("prod", 3), lambda a, b, c: a * b * c)


def test_prod_of_one() -> None:
    check(eltwise_graph("prod", 1), lambda a: a)


def test_max() -> None:
    check(eltwise_graph("max", 3), lambda a, b, c: np.maximum(np.maximum(a, b), c))
