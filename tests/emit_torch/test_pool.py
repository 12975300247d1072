"""Pool against the IR docstring written out as loops (emit_common.pool_loop): ceil-rounded windows
(overflow into `extra_end`), pad + extra, clipped averages, windows of padding only, global pooling.
Also which module each case becomes: PyTorch's own pooling where its ceil_mode rounding and divisor
are the IR's, else the CaffePool helper."""

from __future__ import annotations

import numpy as np
import pytest

from emit_common import (
    CEIL_CASES,
    MASK_CASES,
    global_pool_graph,
    max_pool_mask_graph,
    max_pool_mask_loop,
    pool_graph,
    pool_loop,
    tied_values,
)
from emit_torch.helpers import check, emit, rand, run

# (input hw, kernel, stride, pad, extra_end) that PyTorch's pooling cannot express.
HELPER_CASES = {
    "pad_beyond_half_kernel": ((7, 7), (3, 3), (2, 2), (2, 2), (0, 0)),
    "floor_rounded_drops_last_cells": ((7, 6), (3, 3), (2, 2), (0, 0), (0, 0)),
    "window_two_extra_cells_deep": ((5, 5), (3, 3), (2, 2), (0, 0), (2, 2)),
    "rectangular_pad_and_extra": ((6, 9), (2, 3), (2, 2), (1, 0), (0, 2)),
}
# case name -> (case, whether PyTorch's own pooling with ceil_mode computes it)
CASES = {name: (case, True) for name, case in CEIL_CASES.items()} | {
    name: (case, False) for name, case in HELPER_CASES.items()}


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("name", CASES)
def test_matches_loop(kind: str, name: str) -> None:
    (hw, kernel, stride, pad, extra), native = CASES[name]
    _, graph = pool_graph(kind, hw, kernel, stride, pad, extra)
    emitted = check(graph, lambda x: pool_loop(x, kind, kernel, stride, pad, extra))
    if native:
        assert emitted.kinds() == ["MaxPool2d" if kind == "max" else "AvgPool2d"]
        assert emitted.module.layers["pool1"].ceil_mode
    else:
        assert emitted.kinds() == ["CaffePool"]


def test_overflow_window_divisor_by_hand() -> None:
    # 6x6 planes of ones except the last column: the 3rd window along W covers columns 4, 5 and one
    # extra cell, so its average is over 2 cells, not 3 (extra cells are never counted).
    x = np.ones((1, 3, 6, 6), np.float32)
    x[..., 5] = 4.0
    _, graph = pool_graph("avg", (6, 6), (3, 3), (2, 2), (0, 0), (1, 1))
    y = run(emit(graph), graph, {"data": x})["pool1/out"]
    assert y.shape == (1, 3, 3, 3)
    np.testing.assert_allclose(y[0, 0, 0], [1.0, 1.0, 2.5], rtol=1e-6)


@pytest.mark.parametrize(("hw", "pad", "extra"), [((5, 5), (1, 1), (0, 0)), ((6, 6), (1, 1), (1, 1))])
def test_pad_border_counts_in_average_by_hand(hw: tuple, pad: tuple, extra: tuple) -> None:
    # Ones, k3 s2 pad 1: the corner window holds 4 input cells and 5 pad cells, all counted. On 6x6
    # the last window holds 1 input cell, 3 pad cells (counted) and 5 extra cells (not).
    _, graph = pool_graph("avg", hw, (3, 3), (2, 2), pad, extra)
    y = run(emit(graph), graph, {"data": np.ones((1, 3, *hw), np.float32)})["pool1/out"]
    assert y[0, 0, 0, 0] == pytest.approx(4 / 9)
    assert y[0, 0, -1, -1] == pytest.approx(4 / 9 if hw == (5, 5) else 1 / 4)


def test_max_ignores_padding_even_for_negative_inputs() -> None:
    for pad, extra in (((1, 1), (1, 1)), ((2, 2), (1, 1))):
        _, graph = pool_graph("max", (6, 6), (3, 3), (2, 2), pad, extra)
        check(graph, lambda x, pad=pad, extra=extra: pool_loop(x, "max", (3, 3), (2, 2), pad, extra),
              inputs={"data": lambda s, seed: rand(s, seed, -5.0, -1.0)})


def test_max_window_of_padding_only() -> None:
    # The 3rd window lies wholly in the extra cells: no input cell, so -inf.
    _, graph = pool_graph("max", (4, 4), (2, 2), (2, 2), (0, 0), (2, 2))
    emitted = check(graph, lambda x: pool_loop(x, "max", (2, 2), (2, 2), (0, 0), (2, 2)))
    assert emitted.kinds() == ["CaffePool"]


def test_average_window_with_nothing_to_count_is_refused() -> None:
    # As the ONNX emitter does: the 3rd window holds only extra cells, which are never counted.
    from converter.emit.torch import emit_torch

    _, graph = pool_graph("avg", (4, 4), (2, 2), (2, 2), (0, 0), (2, 2))
    with pytest.raises(ValueError, match="pool1: .*nothing to average"):
        emit_torch(graph)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_global(kind: str) -> None:
    emitted = check(*global_pool_graph(kind))
    assert emitted.kinds() == ["AdaptiveMaxPool2d" if kind == "max" else "AdaptiveAvgPool2d"]


@pytest.mark.parametrize("case", MASK_CASES.values(), ids=MASK_CASES.keys())
def test_max_with_argmax_mask(case: tuple) -> None:
    hw, kernel, stride, pad, extra, global_pool = case
    _, graph = max_pool_mask_graph(hw, kernel, stride, pad, extra, global_pool)
    emitted = check(graph, lambda x: max_pool_mask_loop(x, kernel, stride, pad, extra, global_pool),
                    inputs={"data": tied_values}, rtol=0, atol=0)
    assert emitted.kinds() == ["MaxPoolWithMask"] and emitted.shapes() == {}


def test_mask_of_windows_without_a_value_above_minus_flt_max() -> None:
    # -inf cells never beat -FLT_MAX: mask -1, as for windows of padding only.
    _, graph = max_pool_mask_graph((4, 4), (2, 2), (2, 2), (1, 1))
    x = np.full((1, 3, 4, 4), -np.inf, np.float32)
    x[0, 0, 3, 2] = 5.0
    mask = run(emit(graph), graph, {"data": x})["pool1/mask"]
    expected = np.full((1, 3, 3, 3), -1, np.float32)
    expected[0, 0, 2, 1] = 3 * 4 + 2
    np.testing.assert_array_equal(mask, expected)
