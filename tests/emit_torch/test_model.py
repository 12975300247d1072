"""The PyTorch emitter as a whole: the op table, the generic layout (keys, forward, taps, several
inputs and outputs), the generated class's name, and the files save_torch writes."""

from __future__ import annotations

import contextlib
import importlib.util
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from converter.emit.torch import EMITTERS, converts, emit_torch, save_torch
from converter.emit.torch.registry import TABLE
from converter.ir import BatchNorm, Concat, Conv, Dense, Eltwise, Elu, Lrn, Node, Power, Relu, Slice, Softmax
from emit_common import ir_op_classes, pool_graph
from emit_torch.helpers import check, emit, graph_of, rand


def test_every_ir_op_has_an_emitter() -> None:
    assert ir_op_classes() <= set(TABLE.load())
    assert EMITTERS is TABLE.load()


def test_op_without_emitter() -> None:
    class Mystery(Node):
        pass

    graph = graph_of(Mystery(name="m", inputs=["x"], outputs=["y"]), {"x": (1, 2), "y": (1, 2)})
    with pytest.raises(NotImplementedError, match="Mystery.*'m'"):
        emit_torch(graph)


def test_a_second_emitter_for_an_op_is_refused() -> None:
    with pytest.raises(ValueError, match="two PyTorch converters for Relu"):
        converts(Relu)(lambda node, graph: None)


def small_net() -> tuple[object, dict[str, np.ndarray]]:
    """data -> conv (3x3, pad 1) -> relu -> softmax; layer names that are no identifiers."""
    weight, bias = rand((4, 3, 3, 3), 1), rand((4,), 2)
    nodes = [Conv(name="conv1/3x3", inputs=["data"], outputs=["c"], weight=weight, bias=bias, pad=(1, 1)),
             Relu(name="relu", inputs=["c"], outputs=["r"]),
             Softmax(name="class", inputs=["r"], outputs=["prob"])]
    shapes = {"data": (1, 3, 5, 5), "c": (1, 4, 5, 5), "r": (1, 4, 5, 5), "prob": (1, 4, 5, 5)}
    return graph_of(nodes, shapes, name="small net"), {"weight": weight, "bias": bias}


def torch_conv(params: dict[str, np.ndarray], x: np.ndarray) -> torch.Tensor:
    weight, bias = (torch.from_numpy(params[k]) for k in ("weight", "bias"))
    return F.conv2d(torch.from_numpy(x), weight, bias, padding=1)


def torch_small(params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    return torch.softmax(F.relu(torch_conv(params, x)), 1).numpy()


def test_generic_layout_keys_taps_and_class_name() -> None:
    graph, params = small_net()
    emitted = check(graph, lambda x: torch_small(params, x), rtol=1e-4, atol=1e-6)
    export = emitted.export
    assert export.class_name == "Smallnet"
    assert list(emitted.module.layers) == ["conv1_3x3", "relu", "l_class"]
    assert emitted.shapes() == {"layers.conv1_3x3.weight": (4, 3, 3, 3), "layers.conv1_3x3.bias": (4,)}
    assert export.taps == {"layers.conv1_3x3": ("c",), "layers.relu": ("r",), "layers.l_class": ("prob",)}
    assert export.notes == []


def test_a_net_with_convolutions_computes_in_channels_last() -> None:
    # oneDNN's CPU convolutions skip reordering NHWC tensors: the weights are kept channels_last
    # (load_state_dict copies into them) and a contiguous input is turned so; the values are the
    # functional ops' (check). A net without convolutions is left as it is.
    graph, params = small_net()
    emitted = check(graph, lambda x: torch_small(params, x), rtol=1e-4, atol=1e-6)
    conv = emitted.module.layers["conv1_3x3"]
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    seen = []
    last = torch.channels_last
    conv.register_forward_pre_hook(lambda _, args: seen.append(args[0].is_contiguous(memory_format=last)))
    with torch.no_grad():
        emitted.module(torch.rand((1, 3, 5, 5)))
    assert seen == [True]
    relu_only = graph_of([Relu(name="relu", inputs=["data"], outputs=["r"])], {"data": (1, 3, 5, 5), "r": (1, 3, 5, 5)})
    assert "channels_last" not in emit(relu_only).export.source


def test_taps_see_every_intermediate() -> None:
    graph, params = small_net()
    emitted = emit(graph)
    seen = {}
    for path, (tensor,) in emitted.export.taps.items():
        emitted.module.get_submodule(path).register_forward_hook(
            lambda _m, _i, out, tensor=tensor: seen.__setitem__(tensor, out.detach().numpy()))
    x = rand((2, 3, 5, 5), 3)
    with torch.no_grad():
        emitted.module(torch.from_numpy(x))
    conv = torch_conv(params, x).numpy()
    np.testing.assert_allclose(seen["c"], conv, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(seen["r"], np.maximum(conv, 0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("net_name", ["", "123", "none", "ñ"])
def test_class_name_falls_back_when_the_net_name_is_unusable(net_name: str) -> None:
    graph = graph_of(Relu(name="r", inputs=["x"], outputs=["y"]), {"x": (1, 2), "y": (1, 2)}, name=net_name)
    assert emit(graph).export.class_name == "CaffeNet"


@pytest.mark.parametrize(("net_name", "expected"), [("concat", "CaffeNet"), ("dense", "CaffeNet"), ("f", "CaffeNet"),
                                                    ("nn", "Nn"), ("torch", "Torch")])
def test_class_name_never_rebinds_a_name_the_file_uses(net_name: str, expected: str) -> None:
    # The net's class is defined after the helpers: named Concat it would replace the Concat helper,
    # named F it would replace torch.nn.functional, which the Dense helper calls.
    weight = rand((3, 8), 1)
    nodes = [Concat(name="cat", inputs=["x", "x"], outputs=["xx"], axis=1),
             Dense(name="fc", inputs=["xx"], outputs=["y"], weight=weight, bias=None)]
    graph = graph_of(nodes, {"x": (2, 4), "xx": (2, 8), "y": (2, 3)}, inputs=["x"], name=net_name)
    emitted = check(graph, lambda x: np.concatenate([x, x], 1) @ weight.T, rtol=1e-5, atol=1e-5)
    assert emitted.export.class_name == expected


def test_layer_names_that_are_module_dict_attributes() -> None:
    # ModuleDict refuses keys naming its own attributes ("keys", "train", "forward", ...).
    names = ["train", "keys", "forward", "type", "training", "layer"]
    nodes = [Relu(name=name, inputs=[f"x{i}"], outputs=[f"x{i + 1}"]) for i, name in enumerate(names)]
    graph = graph_of(nodes, {f"x{i}": (1, 3) for i in range(len(names) + 1)})
    emitted = check(graph, lambda x: np.maximum(x, 0))
    keys = list(emitted.module.layers)
    assert len(set(keys)) == len(names) and keys[-1] == "layer"
    assert not set(keys) & set(dir(torch.nn.ModuleDict()))


@pytest.mark.parametrize("input_name", ["t0", "t1_0", "t2"])
def test_input_named_like_a_temporary_is_not_overwritten(input_name: str) -> None:
    # The input is read again after the node whose output would take the same variable name.
    nodes = [Relu(name="relu", inputs=[input_name], outputs=["r"]),
             Slice(name="split", inputs=["r"], outputs=["a", "b"], axis=1, sizes=[1, 2]),
             Concat(name="cat", inputs=["b", "a"], outputs=["ba"], axis=1),
             Eltwise(name="sum", inputs=[input_name, "ba"], outputs=["y"], op="sum")]
    shapes = {input_name: (1, 3), "r": (1, 3), "a": (1, 1), "b": (1, 2), "ba": (1, 3), "y": (1, 3)}
    check(graph_of(nodes, shapes), lambda x: x + np.roll(np.maximum(x, 0), 2, axis=1))


def test_duplicate_layer_names_get_distinct_keys() -> None:
    nodes = [Relu(name="a/b", inputs=["x"], outputs=["y"]), Relu(name="a_b", inputs=["y"], outputs=["z"])]
    emitted = check(graph_of(nodes, {"x": (1, 2), "y": (1, 2), "z": (1, 2)}), lambda x: np.maximum(x, 0))
    assert list(emitted.module.layers) == ["a_b", "a_b_2"]


def test_several_inputs_and_outputs_in_graph_order() -> None:
    nodes = [Concat(name="cat", inputs=["b", "a"], outputs=["ba"], axis=1),
             Slice(name="split", inputs=["ba"], outputs=["first", "rest"], axis=1, sizes=[1, 4])]
    shapes = {"a": (2, 3, 2), "b": (2, 2, 2), "ba": (2, 5, 2), "first": (2, 1, 2), "rest": (2, 4, 2)}
    graph = graph_of(nodes, shapes, inputs=["a", "b"], outputs=["rest", "ba", "first"])
    emitted = check(graph, lambda a, b: (np.concatenate([b, a], 1)[:, 1:], np.concatenate([b, a], 1), b[:, :1]))
    assert "def forward(self, a, b):" in emitted.export.source
    # A module returning several tensors is tapped for each (helpers.run checks the taps against the outputs).
    assert emitted.export.taps == {"layers.cat": ("ba",), "layers.split": ("first", "rest")}


def test_save_writes_a_standalone_module_and_checkpoint(tmp_path) -> None:
    graph, params = small_net()
    export = emit_torch(graph)
    save_torch(export, tmp_path / "small.pth", tmp_path / "small.py")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.pth", "small.py"]
    assert (tmp_path / "small.py").read_text() == export.source
    spec = importlib.util.spec_from_file_location("small_generated", tmp_path / "small.py")
    generated = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generated)
    net = getattr(generated, export.class_name)()
    net.load_state_dict(torch.load(tmp_path / "small.pth", weights_only=True), strict=True)
    x = rand((2, 3, 5, 5), 4)
    with torch.no_grad():
        y = net.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(y, torch_small(params, x), rtol=1e-4, atol=1e-6)


def test_save_replaces_atomically(tmp_path) -> None:
    graph, _ = small_net()
    (tmp_path / "small.py").write_text("old")
    save_torch(emit_torch(graph), tmp_path / "small.pth", tmp_path / "small.py")
    assert (tmp_path / "small.py").read_text().startswith('"""Smallnet')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.pth", "small.py"]  # no temporary files left


INF, NAN = float("inf"), float("nan")
NON_FINITE = {  # a node with an infinite or NaN parameter (a prototxt may say inf or nan), and its closed form
    "relu_slope": (Relu(name="op", inputs=["x"], outputs=["y"], negative_slope=-INF),
                   lambda x: np.where(x > 0, x, -np.inf * x)),
    "elu_alpha": (Elu(name="op", inputs=["x"], outputs=["y"], alpha=NAN), lambda x: np.where(x > 0, x, np.nan)),
    "lrn_k": (Lrn(name="op", inputs=["x"], outputs=["y"], size=3, alpha=1.0, beta=0.5, k=INF),
              lambda x: np.zeros_like(x)),
    "batch_norm_eps": (BatchNorm(name="op", inputs=["x"], outputs=["y"], mean=np.zeros(3, np.float32),
                                 var=np.ones(3, np.float32), eps=INF), lambda x: np.zeros_like(x)),
    "eltwise_coeff": (Eltwise(name="op", inputs=["x", "x"], outputs=["y"], op="sum", coeffs=[INF, 1.0]),
                      lambda x: np.inf * x + x),
    "power_shift": (Power(name="op", inputs=["x"], outputs=["y"], shift=-INF), lambda x: np.full_like(x, -np.inf)),
}


@pytest.mark.parametrize("case", NON_FINITE.values(), ids=NON_FINITE.keys())
def test_non_finite_parameters_are_written_as_floats(case: tuple) -> None:
    # repr(inf) is "inf", a name the generated file does not define: loading failed with NameError.
    node, expected = case
    emitted = check(graph_of(node, {"x": (2, 3, 4, 5), "y": (2, 3, 4, 5)}, inputs=["x"]),
                    lambda x: expected(x.astype(np.float64)).astype(np.float32))
    assert "float('" in emitted.export.source


class DiskFull(OSError):
    pass


def _old_files(folder) -> dict[str, bytes]:
    olds = {name: f"old {name} that must survive".encode() for name in ("small.pth", "small.py")}
    for name, data in olds.items():
        (folder / name).write_bytes(data)
    return olds


def test_a_failed_checkpoint_write_keeps_the_old_files(tmp_path, monkeypatch) -> None:
    graph, _ = small_net()
    olds = _old_files(tmp_path)

    import converter.emit.torch.checkpoint as checkpoint

    def write_part_way(f, array, on_chunk=None, crc=None) -> None:
        f.write(array.tobytes()[:3])
        raise DiskFull("disk full")

    monkeypatch.setattr(checkpoint, "write_array", write_part_way)
    with pytest.raises(DiskFull):
        save_torch(emit_torch(graph), tmp_path / "small.pth", tmp_path / "small.py")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == olds  # untouched, no *.partial left


def test_a_failed_module_write_keeps_the_old_checkpoint_too(tmp_path, monkeypatch) -> None:
    """The .pth is complete before the .py is written: a failure then must not leave a new .pth
    beside the old .py (their parameter names go together)."""
    import converter.fileio as fileio

    graph, _ = small_net()
    olds = _old_files(tmp_path)
    real = fileio.atomic_output

    @contextlib.contextmanager
    def failing_for_the_module(path):
        with real(path) as f:
            if path.name == "small.py":
                f.write(b'"""part of a module')
                raise DiskFull("disk full")
            yield f

    monkeypatch.setattr(fileio, "atomic_output", failing_for_the_module)
    with pytest.raises(DiskFull):
        save_torch(emit_torch(graph), tmp_path / "small.pth", tmp_path / "small.py")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == olds


def _pyflakes_problems(source: str) -> str:
    """What ruff's pyflakes rules (unused imports, undefined names, ...) find in a generated file."""
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--select", "F",
                             "--output-format", "concise", "--stdin-filename", "generated.py", "-"],
                            input=source, capture_output=True, text=True, check=False)
    return "" if result.returncode == 0 else result.stdout + result.stderr


GRAPHS = {
    # nn modules only: no torch, no F
    "modules_only": lambda: small_net()[0],
    # helpers reading torch (Split) or torch and F (CaffePool's explicit padding)
    "torch_helper": lambda: graph_of(Slice(name="s", inputs=["x"], outputs=["a", "b"], axis=1, sizes=[1, 2]),
                                     {"x": (2, 3), "a": (2, 1), "b": (2, 2)}),
    "functional_helper": lambda: pool_graph("max", (4, 4), (2, 2), (2, 2), (0, 0), (2, 2))[1],
}


@pytest.mark.parametrize("make", GRAPHS.values(), ids=GRAPHS.keys())
def test_generated_file_imports_exactly_what_it_uses(make) -> None:
    source = emit_torch(make()).source
    assert _pyflakes_problems(source) == "", source


def test_float32_parameters_are_written_shortest() -> None:
    # 1e-4 as Caffe stores it (float32) is 9.999999747378752e-05 as a double.
    node = Relu(name="leaky", inputs=["x"], outputs=["y"], negative_slope=float(np.float32(1e-4)))
    source = emit_torch(graph_of(node, {"x": (2, 3), "y": (2, 3)})).source
    assert "nn.LeakyReLU(1e-04)" in source


def test_written_numbers_keep_their_value() -> None:
    from converter.emit.torch.writer import number

    bits = np.random.default_rng(0).integers(0, 1 << 32, 20000, dtype=np.uint64).astype(np.uint32)
    singles = bits.view(np.float32)
    singles = np.concatenate([singles[np.isfinite(singles)], np.float32([0.0, -0.0, 1e-4, 3.4028235e38, 1e-45])])
    for single in singles:
        text = number(float(single))
        assert np.float32(eval(text)).tobytes() == single.tobytes(), text  # noqa: S307 - our own number
    # A double that is no float32 (a rescaled LRN alpha) is written exactly.
    for double in (0.1, 1 / 3, 1e300, -2.5e-310):
        assert eval(number(double)) == double  # noqa: S307
    assert [eval(number(v)) for v in (np.inf, -np.inf)] == [np.inf, -np.inf]  # noqa: S307
    assert np.isnan(eval(number(np.nan)))  # noqa: S307
