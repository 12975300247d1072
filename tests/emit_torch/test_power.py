"""Power against its closed form (shift + scale * x) ** power, the IR's constants when power or scale
is 0, and C's pow rules (which Caffe's std::pow follows) at -inf and signed zeros."""

from __future__ import annotations

import numpy as np
import pytest

from converter.ir import Power
from emit_torch.helpers import check, graph_of, rand

CASES = {  # (power, scale, shift)
    "identity": (1.0, 1.0, 0.0),
    "square": (2.0, 1.0, 0.0),
    "scale_shift": (1.0, 0.5, -3.0),
    "all": (2.0, 0.5, 3.0),
    "fractional": (0.5, 2.0, 5.0),
    "negative_power": (-1.0, 1.0, 0.5),
}


def power_graph(power: float, scale: float, shift: float, shape: tuple[int, ...] = (2, 3, 4, 5)):
    node = Power(name="pow", inputs=["x"], outputs=["y"], power=power, scale=scale, shift=shift)
    return graph_of(node, {"x": shape, "y": shape})


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_power(case: tuple[float, float, float]) -> None:
    power, scale, shift = case
    emitted = check(power_graph(power, scale, shift),
                    lambda x: ((shift + scale * x.astype(np.float64)) ** power).astype(np.float32),
                    inputs={"x": lambda s, seed: rand(s, seed, 0.0, 2.0)})
    assert emitted.kinds() == ["Power"]


def with_specials(shape: tuple[int, ...], seed: int) -> np.ndarray:
    x = rand(shape, seed)
    x.reshape(-1)[:3] = [np.inf, -np.inf, np.nan]
    return x


@pytest.mark.parametrize(("power", "scale", "shift", "value"), [
    (0.0, 2.0, 1.0, 1.0), (0.0, 0.0, 0.0, 1.0), (2.0, 0.0, 3.0, 9.0), (-1.0, 0.0, 4.0, 0.25),
    (-1.0, 0.0, 0.0, np.inf), (0.5, 0.0, -1.0, np.nan), (0.0, np.nan, 0.0, 1.0)])
def test_zero_power_or_scale_is_a_constant_even_for_infinite_inputs(power: float, scale: float, shift: float,
                                                                   value: float) -> None:
    # The IR (like Caffe's power_layer.cpp, which fills the top without reading the bottom) gives
    # 1 for power 0 and shift ** power for scale 0; x * 0 would turn inf and NaN into NaN instead.
    emitted = check(power_graph(power, scale, shift, (2, 3, 4)), lambda x: np.full(x.shape, value, np.float32),
                    inputs={"x": with_specials})
    assert emitted.kinds() == ["Filled"] and emitted.export.state_dict == {}


X = np.array([[-np.inf, -0.0, 0.0, 4.0, np.inf, -1.0, np.nan]], np.float32)
# C's pow (C99 Annex F), which Caffe's std::pow follows: pow(-inf, y) is +inf for y > 0 and +0 for
# y < 0 unless y is an odd integer; pow(+-0, y < 0) is +inf unless y is an odd integer, then +-inf.
C_POW = {
    0.5: [np.inf, 0.0, 0.0, 2.0, np.inf, np.nan, np.nan],
    -0.5: [0.0, np.inf, np.inf, 0.5, 0.0, np.nan, np.nan],
    -1.0: [-0.0, -np.inf, np.inf, 0.25, 0.0, -1.0, np.nan],
    3.0: [-np.inf, -0.0, 0.0, 64.0, np.inf, -1.0, np.nan],
}


@pytest.mark.parametrize("power", C_POW)
def test_pow_follows_c_at_infinities_and_signed_zeros(power: float) -> None:
    # Scale 1 and shift 0 are left out, as Caffe does: x = -0.0 reaches pow as -0.0 (0 + -0.0 is +0.0).
    emitted = check(power_graph(power, 1.0, 0.0, (1, 7)), lambda x: np.array([C_POW[power]], np.float32),
                    batches=(1,), inputs={"x": lambda s, seed: X})
    assert emitted.kinds() == ["Power"]


def test_negated_zero_keeps_its_sign() -> None:
    # 0 * -1 = -0.0 in float arithmetic, and pow(-0.0, -1) = -inf (C's rule for odd negative powers).
    check(power_graph(-1.0, -1.0, 0.0, (1, 2)), lambda x: np.array([[-np.inf, -0.5]], np.float32), batches=(1,),
          inputs={"x": lambda s, seed: np.array([[0.0, 2.0]], np.float32)})
