"""Eltwise sum (with coefficients), product and maximum against numpy."""

from __future__ import annotations

import numpy as np

from converter.ir import Eltwise
from emit_onnx.helpers import check, graph_of, node_names, ops

SHAPE = (2, 3, 4, 5)


def eltwise(op: str, n: int, coeffs: list[float] | None = None) -> object:
    names = [f"in{i}" for i in range(n)]
    node = Eltwise(name="elt", inputs=names, outputs=["y"], op=op, coeffs=coeffs or [])
    return graph_of(node, {**dict.fromkeys(names, SHAPE), "y": SHAPE})


def test_sum() -> None:
    model = check(eltwise("sum", 2), lambda a, b: a + b)
    assert ops(model) == ["Sum"] and node_names(model) == ["elt"]


def test_sum_with_coefficients() -> None:
    model = check(eltwise("sum", 3, [1.0, -0.5, 2.0]), lambda a, b, c: a - 0.5 * b + 2 * c)
    assert ops(model) == ["Mul", "Mul", "Sum"]
    assert node_names(model) == ["elt/coeff1", "elt/coeff2", "elt"]


def test_prod() -> None:
    model = check(eltwise("prod", 3), lambda a, b, c: a * b * c)
    assert ops(model) == ["Mul", "Mul"] and node_names(model)[-1] == "elt"


def test_prod_of_one() -> None:
    check(eltwise("prod", 1), lambda a: a)


def test_max() -> None:
    model = check(eltwise("max", 3), lambda a, b, c: np.maximum(np.maximum(a, b), c))
    assert ops(model) == ["Max"]
