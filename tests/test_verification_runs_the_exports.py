"""Verification checks the models `save` writes, not copies emitted again: after `emit`, ONNX
Runtime runs the emitted ONNX model itself (and, for intermediates, that model with extra outputs)
and PyTorch the emitted export; `convert` emits each format once."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner

from conftest import golden_case
from converter import pipeline


def failing_blobs(report) -> set[tuple[str, str]]:
    return {(c.backend, c.blob) for c in report.comparisons if not c.ok}


def test_onnx_runtime_runs_the_emitted_model(tiny):
    conversion = pipeline.convert(*tiny)
    pipeline.emit(conversion, formats=("onnx",))
    export = conversion.onnx_export
    export.weights[:] = [(name, -array if name == "c2.weight" else array) for name, array in export.weights]
    report = pipeline.run_verification(conversion, backends=("onnxruntime",))
    # Only c2 (the network output) changed: the emitted model, not one emitted again, was run.
    assert failing_blobs(report) == {("onnxruntime", "c2|c2")}
    assert "the one save writes" in report.runs["onnxruntime"]


def test_onnx_outputs_come_from_the_exact_model_and_intermediates_from_a_variant(tiny, monkeypatch):
    import onnx
    import onnxruntime as ort

    conversion = pipeline.convert(*tiny)
    pipeline.emit(conversion, formats=("onnx",))
    written = conversion.onnx_export.to_proto()
    sessions: list[tuple[onnx.ModelProto, list[str]]] = []
    real = ort.InferenceSession

    class Recording(real):
        def __init__(self, model: bytes, *args: object, **kwargs: object) -> None:
            super().__init__(model, *args, **kwargs)
            self.model = onnx.load_from_string(model)

        def run(self, names, feed, *args):
            sessions.append((self.model, list(names)))
            return super().run(names, feed, *args)

    monkeypatch.setattr(ort, "InferenceSession", Recording)
    report = pipeline.run_verification(conversion, backends=("onnxruntime",))
    assert report.passed
    (exact, outputs), (variant, intermediates) = sessions
    assert exact == written and outputs == conversion.graph.outputs
    assert list(variant.graph.node) == list(written.graph.node)
    assert list(variant.graph.initializer) == list(written.graph.initializer)
    assert set(intermediates) == {o.name for o in variant.graph.output} - set(conversion.graph.outputs)
    compared = {c.tensor for c in report.comparisons if c.backend == "onnxruntime"}
    assert set(outputs) < compared and compared - set(outputs) <= set(intermediates)


def test_pytorch_runs_the_emitted_export(tiny):
    conversion = pipeline.convert(*tiny)
    pipeline.emit(conversion, formats=("pytorch",))
    state = conversion.torch_export.state_dict
    (key,) = [k for k in state if k.endswith("weight") and tuple(state[k].shape)[0] == 2]
    state[key] = -state[key]
    report = pipeline.run_verification(conversion, backends=("pytorch",))
    assert failing_blobs(report) == {("pytorch", "c2|c2")}
    assert "the ones save writes" in report.runs["pytorch"]


def test_without_exports_verification_emits_its_own(tiny):
    conversion = pipeline.convert(*tiny)
    report = pipeline.run_verification(conversion)
    assert report.passed and {c.backend for c in report.comparisons} == {"onnxruntime", "pytorch"}
    assert conversion.onnx_export is None and conversion.torch_export is None
    assert "emitted for verification" in report.runs["onnxruntime"]


def test_convert_emits_each_format_once(tiny, tmp_path, monkeypatch):
    from cli import main
    from converter.emit import onnx as onnx_emit
    from converter.emit import torch as torch_emit

    calls = {"onnx": 0, "torch": 0}
    build_onnx, emit_torch = onnx_emit.build_onnx, torch_emit.emit_torch

    def counted_onnx(*args, **kwargs):
        calls["onnx"] += 1
        return build_onnx(*args, **kwargs)

    def counted_torch(*args, **kwargs):
        calls["torch"] += 1
        return emit_torch(*args, **kwargs)

    monkeypatch.setattr(onnx_emit, "build_onnx", counted_onnx)
    monkeypatch.setattr(torch_emit, "emit_torch", counted_torch)
    proto, weights = tiny
    done = CliRunner().invoke(main, [str(proto), "-w", str(weights), "-o", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    assert "verified" in done.output
    assert calls == {"onnx": 1, "torch": 1}


def test_the_written_onnx_model_is_the_one_verified(tiny, tmp_path):
    import onnx

    conversion = pipeline.convert(*tiny)
    pipeline.emit(conversion)
    pipeline.run_verification(conversion)
    pipeline.save(conversion, tmp_path / "out", "tiny")
    assert onnx.load(tmp_path / "out" / "tiny.onnx") == conversion.onnx_export.to_proto()
    import torch

    saved = torch.load(tmp_path / "out" / "tiny.pth", weights_only=True)
    assert saved.keys() == conversion.torch_export.state_dict.keys()
    for key, value in saved.items():
        assert np.array_equal(value.numpy(), np.asarray(conversion.torch_export.state_dict[key]))


def test_a_model_past_the_protobuf_limit_is_verified_from_its_files(monkeypatch):
    """Past 2 GiB of weights a ModelProto cannot be serialized: ONNX Runtime then runs the model as
    saved with external data (the threshold lowered here to take that path with a small model)."""
    import onnxruntime as ort

    from converter.emit.onnx import model as onnx_model

    case = golden_case("squeezenet_v1.1")
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"],
                                  input_shapes={"data": tuple(case["input_shape"])})
    pipeline.emit(conversion, formats=("onnx",))
    monkeypatch.setattr(onnx_model, "EXTERNAL_DATA_THRESHOLD", 1 << 20)
    given: list[object] = []
    real = ort.InferenceSession

    class Recording(real):
        def __init__(self, model: object, *args: object, **kwargs: object) -> None:
            given.append(model)
            super().__init__(model, *args, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", Recording)
    report = pipeline.run_verification(conversion, backends=("onnxruntime",), expect=case["blobs_path"])
    assert report.passed, report.first_failure
    assert len(given) == 2 and all(isinstance(m, str) and m.endswith(".onnx") for m in given)
    assert len({c.blob for c in report.comparisons if c.backend == "onnxruntime" and c.truth == "caffe"}) >= 17
