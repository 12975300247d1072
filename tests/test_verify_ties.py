"""Verification through near-tied MAX pooling windows (SegNet/ENet: a MAX Pooling's argmax mask,
unpooled by an Upsample).

When a window's two largest cells are equal within float32 rounding, a runtime computing them with
other rounding may take the other cell (real Caffe alike); the mask, compared exactly, then differs,
and the unpooling carries the value to another place. The runs here are ONNX Runtime and PyTorch on
the converted model, fed the input with the two tied cells swapped: the values they see differ from
the reference's by 1e-6 relative, as values rounded otherwise do, so they resolve the tie the other
way. Verification must accept that, and still catch a mask or an unpooling that is wrong: the ONNX
model is edited to hold such a bug (a mask one cell off, an unpooling writing one cell off).
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper

from converter import pipeline
from converter.backends import torch_backend
from converter.caffe.synthetic import write_synthetic_weights
from converter.emit.onnx import emit_onnx
from converter.verify import verify

PROTOTXT = """
name: "unpool_after_tie"
input: "data"
input_shape { dim: 1 dim: 2 dim: 4 dim: 4 }
layer { name: "pool" type: "Pooling" bottom: "data" top: "pool" top: "mask"
        pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "unpool" type: "Upsample" bottom: "pool" bottom: "mask" top: "unpool" upsample_param { scale: 2 } }
layer { name: "conv" type: "Convolution" bottom: "unpool" top: "conv"
        convolution_param { num_output: 2 kernel_size: 3 pad: 1 } }
"""
TIED = ((0, 0, 0, 0), (0, 0, 0, 1))  # channel 0's first window: cells 0 and 1
DELTA = 2.0**-19  # 4e-6 relative to the window's maximum of 2: far inside the tolerance, 1e-4


@pytest.fixture(scope="module")
def conversion(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ties")
    prototxt = folder / "deploy.prototxt"
    prototxt.write_text(PROTOTXT)
    write_synthetic_weights(prototxt, folder / "w.caffemodel", seed=4)
    return pipeline.convert(prototxt, folder / "w.caffemodel")


def _input() -> np.ndarray:
    """Values in [-1, 1) but for one near-tie of two cells at 2 and 2 + DELTA; no window's maximum on
    its plane's last cell (an index one past it would leave the plane)."""
    x = np.random.default_rng(0).uniform(-1, 1, (1, 2, 4, 4)).astype(np.float32)
    x[:, :, 3, 3] = -1.0
    x[TIED[0]], x[TIED[1]] = 2.0, np.float32(2.0 + DELTA)
    return x


def _swapped(x: np.ndarray) -> np.ndarray:
    """`x` as a run rounding otherwise sees it: the tied cells' values exchanged (4e-6 relative)."""
    y = x.copy()
    y[TIED[0]], y[TIED[1]] = x[TIED[1]], x[TIED[0]]
    return y


def _onnx_run(edit=None):  # noqa: ANN001, ANN202 - an ONNX graph edit; a Backend
    """ONNX Runtime on the converted model (after `edit`, if given), every tensor observed, fed the
    swapped input."""
    def run(graph, inputs):  # noqa: ANN001, ANN202
        model = emit_onnx(graph, extra_outputs=[t for t in graph.tensors if t not in graph.inputs
                                                and t not in graph.outputs])
        if edit is not None:
            edit(model)
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        names = [output.name for output in session.get_outputs()]
        return dict(zip(names, session.run(names, {"data": _swapped(inputs["data"])}), strict=True))
    return run


def _torch_run(graph, inputs):  # noqa: ANN001, ANN202
    return torch_backend()(graph, {"data": _swapped(inputs["data"])})


def _shift_output(model: onnx.ModelProto, tensor: str, dtype: int) -> None:
    """Whatever reads `tensor` reads (tensor + 1) mod 16 instead: one cell further in a 4x4 plane."""
    graph = model.graph
    raw = f"{tensor}/before_bug"
    for node in graph.node:
        node.output[:] = [raw if name == tensor else name for name in node.output]
    one = helper.make_tensor(f"{tensor}/one", dtype, [], [1])
    cells = helper.make_tensor(f"{tensor}/cells", dtype, [], [16])
    graph.initializer.extend([one, cells])
    graph.node.extend([helper.make_node("Add", [raw, one.name], [f"{tensor}/plus_one"]),
                       helper.make_node("Mod", [f"{tensor}/plus_one", cells.name], [tensor],
                                        fmod=int(dtype == onnx.TensorProto.FLOAT))])
    # Nodes must stay in topological order: move every node reading `tensor` after the new ones.
    readers = [node for node in graph.node if tensor in node.input]
    for node in readers:
        graph.node.remove(node)
    graph.node.extend(readers)


def _rows(report, blob: str, backend: str = "onnxruntime"):  # noqa: ANN001, ANN202
    return next(c for c in report.comparisons if c.blob == blob and c.backend == backend)


def test_runs_that_resolve_a_near_tie_otherwise_verify(conversion) -> None:
    x = _input()
    runs = {"onnxruntime": _onnx_run(), "pytorch": _torch_run}
    report = verify(conversion.net, conversion.graph, runs, {"data": x})
    assert report.passed, report.first_failure
    for backend in runs:
        mask = _rows(report, "pool|mask", backend)
        assert mask.truth == "ref+ties" and mask.tolerance == 0.0 and mask.max_abs_err == 0.0
        assert _rows(report, "unpool|unpool", backend).truth == "ref+ties"
        assert _rows(report, "conv|conv", backend).truth == "ref+ties"
    notes = [note for note in report.notes if "near-tie" in note]
    assert len(notes) == 2 and all("pool 1" in note for note in notes)  # one window, in layer 'pool'
    from cli import summary

    assert "near-tied pooling windows (4)" in summary(report)  # pooled value, mask, unpooling, convolution
    # Without the swap the runs agree with the reference itself: no tie followed, no note.
    plain = verify(conversion.net, conversion.graph, {"pytorch": torch_backend()}, {"data": x})
    assert plain.passed and not any("near-tie" in note for note in plain.notes)
    assert {c.truth for c in plain.comparisons} == {"reference"}


def test_a_mask_one_cell_off_fails(conversion) -> None:
    def bug(model: onnx.ModelProto) -> None:  # the mask and the unpooling reading it both one cell off
        _shift_output(model, "mask", onnx.TensorProto.FLOAT)

    report = verify(conversion.net, conversion.graph, {"onnxruntime": _onnx_run(bug)}, {"data": _input()})
    assert not report.passed
    assert report.first_failure.blob == "pool|mask" and report.first_failure.truth == "reference"
    assert not _rows(report, "unpool|unpool").ok


def test_an_unpooling_one_cell_off_fails(conversion) -> None:
    index = next(node.output[0] for node in emit_onnx(conversion.graph).graph.node
                 if node.op_type == "Cast" and node.output[0].startswith("unpool/"))

    def bug(model: onnx.ModelProto) -> None:  # the right mask, each value written one cell further
        _shift_output(model, index, onnx.TensorProto.INT64)

    report = verify(conversion.net, conversion.graph, {"onnxruntime": _onnx_run(bug)}, {"data": _input()})
    assert _rows(report, "pool|mask").ok  # the near-tie followed
    first = report.first_failure
    assert first is not None and first.blob == "unpool|unpool" and first.truth == "ref+ties"
