"""Unpool against the IR docstring written out as a loop (emit_common.unpool_loop): after max
Pools with and without overlapping windows, and from a mask with many repeated indices (the last
writer wins)."""

from __future__ import annotations

import pytest

from emit_common import max_pool_mask_loop, repeating_mask, unpool_after_pool_graph, unpool_graph, unpool_loop
from emit_torch.helpers import check


@pytest.mark.parametrize(("hw", "kernel", "stride"), [((6, 8), (2, 2), (2, 2)), ((7, 7), (3, 3), (2, 2))])
def test_after_a_max_pool(hw, kernel, stride) -> None:
    graph = unpool_after_pool_graph(hw, kernel, stride)

    def oracle(x):
        pooled, mask = max_pool_mask_loop(x, kernel, stride, (0, 0), (0, 0))
        return unpool_loop(pooled, mask, hw)

    emitted = check(graph, oracle)
    assert emitted.kinds() == ["MaxPoolWithMask", "UnpoolByMask"]


def test_repeated_indices_from_an_input_mask() -> None:
    check(unpool_graph((3, 4), (6, 8)), lambda x, mask: unpool_loop(x, mask, (6, 8)),
          inputs={"mask": repeating_mask((6, 8))})
