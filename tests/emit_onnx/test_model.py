"""The model as a whole: opsets 13..21, metadata, names, extra outputs, the registry, saving."""

from __future__ import annotations

import contextlib

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F

from converter.emit.onnx import EMITTERS, TABLE, OnnxModel, build_onnx, emit_onnx
from converter.emit.onnx import model as onnx_model
from converter.ir import Conv, Dense, Lrn, Node, Pool, Relu, Softmax
from emit_common import ir_op_classes
from emit_onnx.helpers import emit_checked, graph_of, rand, run


def small_net() -> tuple[object, dict]:
    conv = Conv(name="conv1", inputs=["data"], outputs=["conv1"], weight=rand((4, 3, 3, 3), 1), bias=rand((4,), 2),
                stride=(2, 2))
    relu = Relu(name="relu1", inputs=["conv1"], outputs=["relu1"])
    norm = Lrn(name="norm1", inputs=["relu1"], outputs=["norm1"], size=3, alpha=0.1, beta=0.75)
    pool = Pool(name="pool1", inputs=["norm1"], outputs=["pool1"], kind="avg", kernel=(3, 3), stride=(2, 2),
                pad=(1, 1), extra_end=(1, 1))
    fc = Dense(name="fc", inputs=["pool1"], outputs=["fc"], weight=rand((5, 4 * 3 * 3), 3), bias=rand((5,), 4))
    prob = Softmax(name="prob", inputs=["fc"], outputs=["prob"])
    shapes = {"data": (1, 3, 11, 11), "conv1": (1, 4, 5, 5), "relu1": (1, 4, 5, 5), "norm1": (1, 4, 5, 5),
              "pool1": (1, 4, 3, 3), "fc": (1, 5), "prob": (1, 5)}
    graph = graph_of([conv, relu, norm, pool, fc, prob], shapes, inputs=["data"], outputs=["prob"], name="small")
    graph.metadata.update({"source.0.sha256": "abc", "input.data": "NCHW float32 1x3x11x11"})
    return graph, {"conv": conv, "fc": fc}


def torch_small(net: dict, x: np.ndarray) -> dict[str, np.ndarray]:
    conv, fc = net["conv"], net["fc"]
    c = F.conv2d(torch.from_numpy(x), torch.from_numpy(conv.weight), torch.from_numpy(conv.bias), stride=2)
    r = F.relu(c)
    n = F.local_response_norm(r, 3, 0.1, 0.75, 1.0)
    p = F.avg_pool2d(n, 3, 2, 1, ceil_mode=True, count_include_pad=True)
    f = F.linear(p.flatten(1), torch.from_numpy(fc.weight), torch.from_numpy(fc.bias))
    return {"conv1": c.numpy(), "relu1": r.numpy(), "pool1": p.numpy(), "fc": f.numpy(),
            "prob": torch.softmax(f, 1).numpy()}


@pytest.mark.parametrize("opset", range(11, 22))
def test_every_supported_opset(opset: int) -> None:
    graph, net = small_net()
    model = emit_checked(graph, opset=opset)
    assert model.opset_import[0].version == opset
    assert model.ir_version == onnx.helper.find_min_ir_version_for([onnx.helper.make_opsetid("", opset)])
    for batch in (1, 3):
        x = rand((batch, 3, 11, 11), batch)
        np.testing.assert_allclose(run(model, {"data": x})["prob"], torch_small(net, x)["prob"], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("opset", [10, 22])
def test_unsupported_opset(opset: int) -> None:
    graph, _ = small_net()
    with pytest.raises(ValueError, match="opset"):
        emit_onnx(graph, opset=opset)


def test_metadata_and_producer() -> None:
    graph, _ = small_net()
    model = emit_onnx(graph)
    assert model.producer_name == "squeeze-convert" and model.doc_string == "squeeze-convert"
    assert model.graph.name == "small"
    assert {p.key: p.value for p in model.metadata_props} == graph.metadata


def test_names() -> None:
    graph, _ = small_net()
    model = emit_onnx(graph)
    assert [i.name for i in model.graph.input] == ["data"] and [o.name for o in model.graph.output] == ["prob"]
    names = {n.name for n in model.graph.node}
    assert {"conv1", "relu1", "norm1", "pool1", "pool1/pad", "fc", "prob"} <= names
    assert {"conv1.weight", "conv1.bias", "fc.weight", "fc.bias"} <= {t.name for t in model.graph.initializer}
    produced = [o for n in model.graph.node for o in n.output]
    assert len(produced) == len(set(produced)) and set(graph.tensors) - {"data"} <= set(produced)


def test_extra_outputs_are_exposed_with_symbolic_batch() -> None:
    graph, net = small_net()
    model = emit_checked(graph, extra_outputs=["conv1", "pool1", "fc", "prob"])
    assert [o.name for o in model.graph.output] == ["prob", "conv1", "pool1", "fc"]
    dims = {o.name: [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] for o in model.graph.output}
    assert dims["conv1"] == ["N", 4, 5, 5] and dims["pool1"] == ["N", 4, 3, 3] and dims["fc"] == ["N", 5]
    x = rand((3, 3, 11, 11), 7)
    got, want = run(model, {"data": x}), torch_small(net, x)
    for name in ("conv1", "pool1", "fc", "prob"):
        np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-5, err_msg=name)


def test_unknown_extra_output() -> None:
    graph, _ = small_net()
    with pytest.raises(KeyError, match="nope"):
        emit_onnx(graph, extra_outputs=["nope"])


def test_every_ir_op_has_a_converter() -> None:
    assert ir_op_classes() <= set(TABLE.load())
    assert EMITTERS is TABLE.load()


def test_op_without_converter() -> None:
    class Mystery(Node):
        pass

    graph = graph_of(Mystery(name="m", inputs=["x"], outputs=["y"]), {"x": (1, 2), "y": (1, 2)})
    with pytest.raises(NotImplementedError, match="Mystery"):
        emit_onnx(graph)


def _same_model(path, graph, net) -> None:
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded, full_check=True)
    assert {p.key: p.value for p in loaded.metadata_props} == graph.metadata
    x = rand((2, 3, 11, 11), 5)
    np.testing.assert_allclose(run(loaded, {"data": x})["prob"], torch_small(net, x)["prob"], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("streamed", [False, True])
def test_save_inline(tmp_path, streamed: bool) -> None:
    graph, net = small_net()
    path = tmp_path / "small.onnx"
    (build_onnx(graph) if streamed else OnnxModel.from_proto(emit_onnx(graph))).save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.onnx"]
    _same_model(path, graph, net)
    assert onnx.load(str(path)) == emit_onnx(graph)


def test_save_external_data(tmp_path) -> None:
    graph, net = small_net()
    path = tmp_path / "small.onnx"
    OnnxModel.from_proto(emit_onnx(graph)).save(path, external_threshold=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.onnx", "small.onnx.data"]
    skeleton = onnx.load(str(path), load_external_data=False)
    weights = [t for t in skeleton.graph.initializer if t.data_type == onnx.TensorProto.FLOAT and t.dims]
    shapes = [t for t in skeleton.graph.initializer if t not in weights]
    assert weights and all(t.data_location == onnx.TensorProto.EXTERNAL and not t.raw_data for t in weights)
    # Shapes and scalars stay in the model: ONNX Runtime reads them while loading it.
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in shapes)
    assert (tmp_path / "small.onnx.data").stat().st_size >= build_onnx(graph).weight_bytes
    _same_model(path, graph, net)


def test_save_replaces_atomically(tmp_path) -> None:
    graph, _ = small_net()
    path = tmp_path / "small.onnx"
    path.write_bytes(b"old")
    OnnxModel.from_proto(emit_onnx(graph)).save(path)
    assert onnx.load(str(path)).graph.name == "small"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.onnx"]  # no temporary files left


def test_metadata_rendered_late_and_written_after_the_weights(tmp_path) -> None:
    """Metadata values become text only when the model is written (a source file's sha256 may still
    be computing), and a streamed file puts them last, after every weight."""
    graph, net = small_net()
    rendered: list[str] = []

    class Late:
        def __str__(self) -> str:
            rendered.append("late")
            return "computed"

    graph.metadata["source.1.sha256"] = Late()
    model = build_onnx(graph)
    assert rendered == []
    path = tmp_path / "small.onnx"
    model.save(path)
    assert rendered == ["late"]
    tail = onnx.ModelProto()
    for key, value in graph.metadata.items():
        tail.metadata_props.add(key=key, value=str(value))
    data = path.read_bytes()
    assert data.endswith(tail.SerializeToString())
    assert data.rfind(net["fc"].bias.tobytes()) < len(data) - len(tail.SerializeToString())
    loaded = onnx.load(str(path))
    assert {p.key: p.value for p in loaded.metadata_props}["source.1.sha256"] == "computed"
    assert loaded == emit_onnx(graph)


class DiskFull(OSError):
    pass


def _fail_part_way(write):
    """A writer that writes its first call's bytes and a few of the second's, then fails."""
    calls = []

    def failing(f, *args) -> None:
        calls.append(args)
        if len(calls) == 1:
            write(f, *args)
            return
        f.write(b"\x08\x07partial")
        raise DiskFull("disk full")

    return failing


def _old_files(folder, names) -> dict[str, bytes]:
    olds = {name: f"old {name} that must survive".encode() for name in names}
    for name, data in olds.items():
        (folder / name).write_bytes(data)
    return olds


def test_a_failed_inline_save_keeps_the_old_file(tmp_path, monkeypatch) -> None:
    graph, _ = small_net()
    olds = _old_files(tmp_path, ["small.onnx"])
    monkeypatch.setattr(onnx_model, "_write_initializer", _fail_part_way(onnx_model._write_initializer))
    with pytest.raises(DiskFull):
        build_onnx(graph).save(tmp_path / "small.onnx")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == olds  # untouched, no *.partial left


def test_a_failed_external_data_save_keeps_both_old_files(tmp_path, monkeypatch) -> None:
    graph, _ = small_net()
    olds = _old_files(tmp_path, ["small.onnx", "small.onnx.data"])
    monkeypatch.setattr(onnx_model, "write_array", _fail_part_way(onnx_model.write_array))
    with pytest.raises(DiskFull):
        build_onnx(graph).save(tmp_path / "small.onnx", external_threshold=0)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == olds


def test_external_data_is_not_replaced_when_the_graph_file_fails(tmp_path, monkeypatch) -> None:
    """The .data file is complete first; a failure writing the .onnx that points into it must not
    leave a new .data beside the old .onnx."""
    graph, _ = small_net()
    olds = _old_files(tmp_path, ["small.onnx", "small.onnx.data"])
    real = onnx_model.atomic_output

    @contextlib.contextmanager
    def failing_for_the_graph(path):
        with real(path) as f:
            if path.name == "small.onnx":
                f.write(b"\x08\x07partial")
                raise DiskFull("disk full")
            yield f

    monkeypatch.setattr(onnx_model, "atomic_output", failing_for_the_graph)
    with pytest.raises(DiskFull):
        build_onnx(graph).save(tmp_path / "small.onnx", external_threshold=0)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == olds
