"""Eltwise sum (with coefficients), product and maximum against numpy."""

from __future__ import annotations

import numpy as np

from emit_common import eltwise_graph
from emit_onnx.helpers import check, node_names, ops


def test_sum() -> None:
    model = check(eltwise_graph("sum", 2), lambda a, b: a + b)
    assert ops(model) == ["Sum"] and node_names(model) == ["elt"]


def test_sum_with_coefficients() -> None:
    model = check(eltwise_graph("sum", 3, [1.0, -0.5, 2.0]), lambda a, b, c: a - 0.5 * b + 2 * c)
    assert ops(model) == ["Mul", "Mul", "Sum"]
    assert node_names(model) == ["elt/coeff1", "elt/coeff2", "elt"]


def test_prod() -> None:
    model = check(eltwise_graph("prod", 3), lambda a, b, c: a * b * c)
    assert ops(model) == ["Mul", "Mul"] and node_names(model)[-1] == "elt"


def test_prod_of_one() -> None:
    check(eltwise_graph("prod", 1), lambda a: a)


def test_max() -> None:
    model = check(eltwise_graph("max", 3), lambda a, b, c: np.maximum(np.maximum(a, b), c))
    assert ops(model) == ["Max"]
