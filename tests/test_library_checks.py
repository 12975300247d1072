"""Issue 14, the library: it checks what the command line checks, and says so with the project's
own errors (never onnxruntime's, never a report that passed after comparing nothing)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from converter import pipeline
from converter.errors import ConverterError


@pytest.fixture
def conversion(tiny):
    proto, weights = tiny
    return pipeline.convert(proto, weights)


@pytest.mark.parametrize("inputs, message", [
    ({"data": np.zeros((1, 3, 9, 9), np.float32)},
     r"input .data. has shape \[1, 3, 9, 9\], the net takes \[1, 3, 8, 8\]"),
    ({"image": np.zeros((1, 3, 8, 8), np.float32)}, r"inputs give \['image'\], the net's inputs are \['data'\]"),
    ({"data": np.full((1, 3, 8, 8), np.nan, np.float32)}, "input 'data' holds NaN or infinite values"),
    ({"data": np.zeros((1, 3, 8, 8), object)}, "holds object values, not numbers"),
])
def test_wrong_inputs_are_refused_before_anything_runs(conversion, inputs, message):
    pipeline.emit(conversion, formats=("onnx",))
    with pytest.raises(ConverterError, match=message):
        pipeline.run_verification(conversion, backends=("onnxruntime",), inputs=inputs)


@pytest.mark.parametrize("backends", [(), [], "onnxruntime"])
def test_no_backend_is_not_a_pass(conversion, backends):
    with pytest.raises(ConverterError, match="at least one run"):
        pipeline.run_verification(conversion, backends=backends)


@pytest.mark.parametrize("tolerance", [math.nan, math.inf, -1e-4, "1e-4", True])
def test_a_tolerance_that_is_no_finite_non_negative_number_is_refused(conversion, tolerance):
    with pytest.raises(ConverterError, match="not a finite, non-negative tolerance"):
        pipeline.run_verification(conversion, backends=("pytorch",), tolerance=tolerance)


@pytest.mark.parametrize("opset", [3, 99, 17.0])
def test_an_opset_the_emitter_does_not_write_is_refused(conversion, opset):
    with pytest.raises(ConverterError, match="is not one the emitter writes"):
        pipeline.emit(conversion, opset=opset)


@pytest.mark.parametrize("formats", [("onnx", "tflite"), (), "onnx"])
def test_unknown_formats_are_refused(conversion, formats):
    with pytest.raises(ConverterError, match="formats must be some of"):
        pipeline.emit(conversion, formats=formats)


@pytest.mark.parametrize("stem", ["../../x", "/tmp/abs", "a/b", "..", "", "tab\there"])
def test_save_writes_only_inside_out_dir(conversion, tmp_path, stem):
    out = tmp_path / "a" / "b"
    pipeline.emit(conversion, formats=("onnx",))
    with pytest.raises(ConverterError, match="not a plain file name stem"):
        pipeline.save(conversion, out, stem)
    assert not (tmp_path / "x.onnx").exists() and not out.exists()
