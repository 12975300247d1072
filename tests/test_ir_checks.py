"""The IR refuses nodes whose attributes contradict each other, on construction, naming the node; the
lift turns such a refusal into a ModelError naming the Caffe layer (exit 2, never an internal error)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from converter import pipeline
from converter.errors import ModelError
from converter.ir import BatchNorm, Conv, Eltwise, InvalidNode, Pool, Slice
from converter.lift import registry


def test_eltwise_sum_takes_one_coefficient_per_input() -> None:
    with pytest.raises(InvalidNode, match="elt: 2 coefficients for 3 inputs"):
        Eltwise(name="elt", inputs=["a", "b", "c"], outputs=["y"], op="sum", coeffs=[1.0, 2.0])
    # max and prod ignore coefficients, whatever their number
    Eltwise(name="elt", inputs=["a", "b", "c"], outputs=["y"], op="max", coeffs=[1.0, 2.0])


def test_eltwise_op_is_known() -> None:
    with pytest.raises(InvalidNode, match="elt: unknown eltwise op 'min'"):
        Eltwise(name="elt", inputs=["a", "b"], outputs=["y"], op="min")  # type: ignore[arg-type]


def test_slice_has_one_size_per_output() -> None:
    with pytest.raises(InvalidNode, match="s: 3 sizes for 2 outputs"):
        Slice(name="s", inputs=["x"], outputs=["a", "b"], axis=1, sizes=[1, 1, 1])


@pytest.mark.parametrize(("changes", "message"), [
    ({"kind": "min"}, "unknown pooling kind 'min'"),
    ({"pad": (-1, 0)}, "negative pad"),
    ({"extra_end": (0, -1)}, "negative pad .* or extra_end"),
])
def test_pool_attributes(changes: dict, message: str) -> None:
    attributes = {"kind": "max", "kernel": (2, 2), "stride": (2, 2), **changes}
    with pytest.raises(InvalidNode, match=f"p: {message}"):
        Pool(name="p", inputs=["x"], outputs=["y"], **attributes)


@pytest.mark.parametrize("changes", [{"pad": (0, -1)}, {"extra_end": (-1, 0)}])
def test_conv_padding_is_not_negative(changes: dict) -> None:
    with pytest.raises(InvalidNode, match="c: negative pad .* or extra_end"):
        Conv(name="c", inputs=["x"], outputs=["y"], weight=np.zeros((1, 1, 3, 3), np.float32), bias=None, **changes)


@pytest.mark.parametrize(("statistics", "batch", "message"), [
    ({"mean": None, "var": None}, False, "stored statistics need both mean and var"),
    ({"mean": np.zeros(2, np.float32), "var": None}, False, "stored statistics need both mean and var"),
    ({"mean": np.zeros(2, np.float32), "var": np.ones(2, np.float32)}, True, "batch statistics take no stored"),
])
def test_batchnorm_statistics_are_stored_or_the_batch_s(statistics: dict, batch: bool, message: str) -> None:
    with pytest.raises(InvalidNode, match=f"bn: {message}"):
        BatchNorm(name="bn", inputs=["x"], outputs=["y"], batch_statistics=batch, **statistics)


@pytest.mark.parametrize(("kind", "outputs", "message"), [
    ("avg", ["y", "m"], "2 outputs: avg pooling gives one$"),
    ("max", ["y", "m", "z"], "3 outputs: max pooling gives one, and an argmax mask"),
])
def test_pool_outputs(kind: str, outputs: list, message: str) -> None:
    with pytest.raises(InvalidNode, match=f"p: {message}"):
        Pool(name="p", inputs=["x"], outputs=outputs, kind=kind, kernel=(2, 2), stride=(2, 2))
    assert Pool(name="p", inputs=["x"], outputs=["y", "m"], kind="max", kernel=(2, 2), stride=(2, 2)).mask == "m"


def test_average_window_of_uncounted_cells_only() -> None:
    # 4 rows, kernel 1, stride 2, extra 1: windows start at rows 0, 2 and 4; the last holds only the
    # extra cell 4, never counted. With 5 rows that window holds row 4.
    pool = Pool(name="p", inputs=["x"], outputs=["y"], kind="avg", kernel=(1, 1), stride=(2, 2), extra_end=(1, 0))
    assert pool.empty_average_axis((4, 4)) == 0
    assert pool.empty_average_axis((5, 4)) is None
    with pytest.raises(InvalidNode, match="p: extra_end .* nothing to average"):
        pool.check_windows((4, 4))
    # Max pooling gives such a window -FLT_MAX.
    assert Pool(name="p", inputs=["x"], outputs=["y"], kind="max", kernel=(1, 1), stride=(2, 2),
                extra_end=(1, 0)).empty_average_axis((4, 4)) is None


def test_the_lift_names_the_layer_of_a_refused_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Caffe's own checks catch every such layer first, so a converter is made to build a bad node.
    def bad_eltwise(layer: object) -> Eltwise:
        return Eltwise(**registry.io(layer), op="sum", coeffs=[1.0])

    monkeypatch.setitem(registry.CONVERTERS, "Eltwise", bad_eltwise)
    prototxt = tmp_path / "net.prototxt"
    prototxt.write_text('input: "data" input_shape { dim: 1 dim: 2 }\n'
                        'layer { name: "sum" type: "Eltwise" bottom: "data" bottom: "data" top: "out" }\n')
    with pytest.raises(ModelError, match="layer 'sum': 1 coefficients for 2 inputs") as caught:
        pipeline.convert(prototxt)
    assert caught.value.exit_code == 2
