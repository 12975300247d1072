"""Eltwise against numpy: sum (with coefficients), product, maximum of all inputs."""

from __future__ import annotations

import numpy as np
import pytest

from converter.emit.torch import emit_torch
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


def test_max_ignores_coefficients() -> None:
    # Caffe accepts coefficients with MAX and does not use them.
    check(eltwise_graph("max", 2, [3.0, -5.0]), lambda a, b: np.maximum(a, b))


def test_sum_with_a_coefficient_count_other_than_the_inputs_is_refused() -> None:
    with pytest.raises(ValueError, match="elt: 2 coefficients for 3 inputs"):
        emit_torch(eltwise_graph("sum", 3, [1.0, 2.0]))
