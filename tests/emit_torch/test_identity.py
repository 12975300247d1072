"""Identity: the output is the input."""

from __future__ import annotations

from converter.ir import Identity
from emit_torch.helpers import check, graph_of


def test_identity() -> None:
    graph = graph_of(Identity(name="drop", inputs=["x"], outputs=["y"]), {"x": (2, 3, 4), "y": (2, 3, 4)})
    emitted = check(graph, lambda x: x)
    assert emitted.kinds() == ["Identity"]
