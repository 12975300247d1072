"""ShuffleChannel against the IR's channel loop."""

from __future__ import annotations

import pytest

from converter.ir import ShuffleChannel
from emit_common import shuffle_loop
from emit_onnx.helpers import check, graph_of


@pytest.mark.parametrize(("shape", "group"), [((2, 6, 3, 4), 2), ((2, 6, 3, 4), 3), ((2, 12, 5), 4), ((2, 4, 2, 2), 1)])
def test_shuffle_channel(shape: tuple, group: int) -> None:
    node = ShuffleChannel(name="shuffle", inputs=["x"], outputs=["y"], group=group)
    check(graph_of(node, {"x": shape, "y": shape}), lambda x: shuffle_loop(x, group))
