"""Pool: ONNX Runtime against the IR docstring written out as loops, and against PyTorch's pooling
with ceil_mode=True, count_include_pad=True (whose divisor clips windows at input+pad, like the IR)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

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
from emit_onnx.helpers import check, emit_checked, node_names, ops, rand, run


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", CEIL_CASES.values(), ids=CEIL_CASES.keys())
def test_matches_loop_and_torch_ceil_mode(kind: str, case: tuple) -> None:
    hw, kernel, stride, pad, extra = case
    _, graph = pool_graph(kind, hw, kernel, stride, pad, extra)

    def torch_pool(x: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(x)
        if kind == "max":
            return F.max_pool2d(t, kernel, stride, pad, ceil_mode=True).numpy()
        return F.avg_pool2d(t, kernel, stride, pad, ceil_mode=True, count_include_pad=True).numpy()

    check(graph, torch_pool)
    if hw[0] < 10:
        check(graph, lambda x: pool_loop(x, kind, kernel, stride, pad, extra))


def test_overflow_window_divisor_by_hand() -> None:
    # 6x6 planes of ones except the last column: the 3rd window along W covers columns 4, 5 and one
    # extra cell, so its average is over 2 cells, not 3 (extra cells are never counted).
    x = np.ones((1, 3, 6, 6), np.float32)
    x[..., 5] = 4.0
    _, graph = pool_graph("avg", (6, 6), (3, 3), (2, 2), (0, 0), (1, 1))
    y = run(check(graph, lambda x: pool_loop(x, "avg", (3, 3), (2, 2), (0, 0), (1, 1))), {"data": x})["pool1/out"]
    assert y.shape == (1, 3, 3, 3)
    np.testing.assert_allclose(y[0, 0, 0], [1.0, 1.0, 2.5], rtol=1e-6)


def test_pad_border_counts_in_average() -> None:
    # 1x1x5x5 of ones, k3 s2 pad 1: the corner window holds 4 input cells and 5 pad cells, all counted.
    _, graph = pool_graph("avg", (5, 5), (3, 3), (2, 2), (1, 1), (0, 0))
    model = check(graph, lambda x: pool_loop(x, "avg", (3, 3), (2, 2), (1, 1), (0, 0)))
    y = run(model, {"data": np.ones((1, 3, 5, 5), np.float32)})["pool1/out"]
    np.testing.assert_allclose(y[0, 0], [[4 / 9, 6 / 9, 4 / 9], [6 / 9, 1, 6 / 9], [4 / 9, 6 / 9, 4 / 9]], rtol=1e-6)


def test_max_ignores_padding_even_for_negative_inputs() -> None:
    _, graph = pool_graph("max", (6, 6), (3, 3), (2, 2), (1, 1), (1, 1))
    check(graph, lambda x: pool_loop(x, "max", (3, 3), (2, 2), (1, 1), (1, 1)),
          inputs={"data": lambda s, seed: rand(s, seed, -5.0, -1.0)})


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_extra_beyond_the_last_window_is_harmless(kind: str) -> None:
    # extra_end 2 with kernel 2: as ONNX pads that would equal the kernel (onnxruntime refuses), but
    # the last window never reaches it.
    _, graph = pool_graph(kind, (5, 5), (2, 2), (3, 3), (0, 0), (2, 2))
    check(graph, lambda x: pool_loop(x, kind, (2, 2), (3, 3), (0, 0), (2, 2)))


def test_max_window_of_padding_only_uses_explicit_pad() -> None:
    # The 3rd window lies wholly in the extra cells: an end pad >= kernel needs a Pad first, and that
    # window gives -FLT_MAX (Caffe's initial maximum), not -inf.
    _, graph = pool_graph("max", (4, 4), (2, 2), (2, 2), (0, 0), (2, 2))
    model = check(graph, lambda x: pool_loop(x, "max", (2, 2), (2, 2), (0, 0), (2, 2)))
    assert ops(model) == ["Pad", "MaxPool"]
    y = run(model, {"data": rand((1, 3, 4, 4))})["pool1/out"]
    assert (y[0, :, 2, :] == np.finfo(np.float32).min).all() and np.isfinite(y).all()


def test_average_window_with_nothing_to_count_is_refused() -> None:
    from converter.emit.onnx import emit_onnx

    _, graph = pool_graph("avg", (4, 4), (2, 2), (2, 2), (0, 0), (2, 2))
    with pytest.raises(ValueError, match="nothing to average"):
        emit_onnx(graph)


def test_structure_and_names() -> None:
    _, graph = pool_graph("avg", (6, 6), (3, 3), (2, 2), (0, 0), (1, 1))
    model = check(graph, lambda x: pool_loop(x, "avg", (3, 3), (2, 2), (0, 0), (1, 1)))
    assert ops(model) == ["AveragePool"] and node_names(model) == ["pool1"]  # no pad: no Pad node
    attrs = {a.name: a for a in model.graph.node[0].attribute}
    assert list(attrs["pads"].ints) == [0, 0, 1, 1] and attrs["count_include_pad"].i == 0
    assert attrs["ceil_mode"].i == 0

    _, graph = pool_graph("avg", (5, 5), (3, 3), (2, 2), (1, 1), (0, 0))
    model = check(graph, lambda x: pool_loop(x, "avg", (3, 3), (2, 2), (1, 1), (0, 0)))
    assert ops(model) == ["Pad", "AveragePool"] and node_names(model) == ["pool1/pad", "pool1"]
    assert list({a.name: a for a in model.graph.node[1].attribute}["pads"].ints) == [0, 0, 0, 0]

    _, graph = pool_graph("max", (6, 6), (3, 3), (2, 2), (1, 1), (1, 1))
    model = check(graph, lambda x: pool_loop(x, "max", (3, 3), (2, 2), (1, 1), (1, 1)))
    assert ops(model) == ["MaxPool"]
    assert list({a.name: a for a in model.graph.node[0].attribute}["pads"].ints) == [1, 1, 2, 2]


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_global(kind: str) -> None:
    model = check(*global_pool_graph(kind))
    assert ops(model) == ["GlobalMaxPool" if kind == "max" else "GlobalAveragePool"]


@pytest.mark.parametrize("case", MASK_CASES.values(), ids=MASK_CASES.keys())
def test_max_with_argmax_mask(case: tuple) -> None:
    hw, kernel, stride, pad, extra, global_pool = case
    _, graph = max_pool_mask_graph(hw, kernel, stride, pad, extra, global_pool)
    model = check(graph, lambda x: max_pool_mask_loop(x, kernel, stride, pad, extra, global_pool),
                  inputs={"data": tied_values}, rtol=0, atol=0)
    assert "MaxPool" in ops(model) and "GlobalMaxPool" not in ops(model)
    assert [n.output for n in model.graph.node if n.op_type == "MaxPool"][0][0] == "pool1/out"


def test_mask_of_windows_without_a_value_above_minus_flt_max() -> None:
    # -inf cells never beat -FLT_MAX: mask -1, as for windows of padding only.
    _, graph = max_pool_mask_graph((4, 4), (2, 2), (2, 2), (1, 1))
    x = np.full((1, 3, 4, 4), -np.inf, np.float32)
    x[0, 0, 3, 2] = 5.0
    mask = run(emit_checked(graph), {"data": x})["pool1/mask"]
    expected = np.full((1, 3, 3, 3), -1, np.float32)
    expected[0, 0, 2, 1] = 3 * 4 + 2
    np.testing.assert_array_equal(mask, expected)
