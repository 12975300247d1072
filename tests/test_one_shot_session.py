"""The ONNX Runtime session of runs that use a model once (verification, classify, detect)."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from converter.backends import one_shot_session


def test_one_shot_sessions_neither_prepack_weights_nor_keep_an_arena() -> None:
    # Prepacking copies every weight into a second, packed buffer before the first run: for a model
    # run once that costs time and memory (VGG-16: 0.5 s, 0.17 GB) and gains nothing.
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    session = one_shot_session(model.SerializeToString())
    options = session.get_session_options()
    assert options.get_session_config_entry("session.disable_prepacking") == "1"
    assert options.enable_cpu_mem_arena is False
    assert session.get_providers() == ["CPUExecutionProvider"]
    (y,) = session.run(None, {"x": np.array([-1.0, 2.0], np.float32)})
    np.testing.assert_array_equal(y, [0.0, 2.0])
