"""PRelu against numpy: x if x > 0 else slope[c] * x, channels on dim 1, or one shared slope."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import PRelu
from emit_torch.helpers import check, graph_of

CASES = {  # input shape, slopes (a list per channel, or one shared number)
    "per_channel_4d": ((2, 3, 4, 5), [0.1, -0.5, 2.0]),
    "per_channel_2d": ((2, 4), [0.1, 0.2, 0.3, 0.4]),
    "shared": ((1, 3, 4, 4), 0.25),  # a scalar, as the IR says
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_prelu(case: tuple) -> None:
    shape, values = case
    slope = np.array(values, np.float32)
    per_channel = slope.reshape(1, -1, *(1,) * (len(shape) - 2))
    node = PRelu(name="prelu", inputs=["x"], outputs=["y"], slope=slope)
    emitted = check(graph_of(node, {"x": shape, "y": shape}), lambda x: np.where(x > 0, x, per_channel * x))
    assert emitted.kinds() == ["PReLU"] and emitted.shapes() == {"layers.prelu.weight": (slope.size,)}
