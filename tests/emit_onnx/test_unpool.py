"""Unpool against the IR docstring written out as a loop (emit_common.unpool_loop): after a
non-overlapping max Pool (scattered directly), after an overlapping one and from a mask with many
repeated indices (the last writer picked with ScatterElements' max reduction, opset 18)."""

from __future__ import annotations

import pytest

from converter.errors import ModelError
from emit_common import max_pool_mask_loop, repeating_mask, unpool_after_pool_graph, unpool_graph, unpool_loop
from emit_onnx.helpers import check, emit_checked, ops


def test_after_a_non_overlapping_pool_scatters_directly() -> None:
    graph = unpool_after_pool_graph((6, 8), (2, 2), (2, 2))

    def oracle(x):
        pooled, mask = max_pool_mask_loop(x, (2, 2), (2, 2), (0, 0), (0, 0))
        return unpool_loop(pooled, mask, (6, 8))

    model = check(graph, oracle)
    assert ops(model).count("ScatterElements") == 1
    assert model.graph.node[-1].name == "unpool1"
    assert all(a.name != "reduction" for n in model.graph.node for a in n.attribute)


@pytest.mark.parametrize("opset", [18, 21])
def test_after_an_overlapping_pool_keeps_the_last_writer(opset: int) -> None:
    graph = unpool_after_pool_graph((7, 7), (3, 3), (2, 2))

    def oracle(x):
        pooled, mask = max_pool_mask_loop(x, (3, 3), (2, 2), (0, 0), (0, 0))
        return unpool_loop(pooled, mask, (7, 7))

    model = check(graph, oracle, opset=opset)
    assert "GatherElements" in ops(model)


def test_repeated_indices_from_an_input_mask() -> None:
    graph = unpool_graph((3, 4), (6, 8))
    check(graph, lambda x, mask: unpool_loop(x, mask, (6, 8)), opset=18, inputs={"mask": repeating_mask((6, 8))})


def test_repeated_indices_need_opset_18() -> None:
    with pytest.raises(ModelError, match="layer 'unpool1'.*opset 18"):
        emit_checked(unpool_graph((3, 4), (6, 8)), opset=17)
