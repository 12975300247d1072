"""Issue 13: the generated PyTorch module as deployers use it: imported from its file, scripted with
torch.jit.script for every net of ../shared/reference_models and exported with torch.export at a
dynamic batch (parameters on the meta device: only the code is under test); named after the model;
`load(path)` restores the written checkpoint, and the scripted form computes what real Caffe did.

torch.export costs seconds per net, so it runs on the nets whose files hold, together, every
construct any reference net's file holds (each helper class, each torch/nn/F name, both layouts):
the other files differ from those only in constructor arguments. The test checks that coverage."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from reference_nets import REFERENCE_NETS, reference_graph

from conftest import golden_case
from converter import pipeline


def import_file(path: Path) -> object:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # torch.jit.script reads the classes' source through their module
    spec.loader.exec_module(module)
    return module


# ../shared/reference_models only (the sweeps' wild fork nets are others' business).
MODELS = sorted(name for name in REFERENCE_NETS if not name.startswith("wild_"))
EXPORTED = ["squeezenet_v1.1", "layer_zoo", "squeezenet_residual"]
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


def constructs(source: str, class_name: str) -> set[str]:
    """What a generated file is made of: its helper classes, the torch/nn/F names it uses, its layout."""
    helpers = {node.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ClassDef)} - {class_name}
    layout = "generic" if "self.layers" in source else "torchvision"
    return helpers | set(re.findall(r"\b(?:torch|nn|F)\.\w+", source)) | {layout}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, tuple[type, tuple[int, ...], set[str]]]:
    from converter.emit.torch import emit_torch

    folder = tmp_path_factory.mktemp("generated")
    classes = {}
    for name in MODELS:
        graph = reference_graph(name)
        export = emit_torch(graph)
        path = folder / f"deploy_{name.replace('.', '_')}.py"
        path.write_text(export.source)
        classes[name] = (getattr(import_file(path), export.class_name), graph.tensors[graph.inputs[0]].shape,
                         constructs(export.source, export.class_name))
    return classes


def on_meta(module_class: type) -> torch.nn.Module:
    with torch.device("meta"):
        return module_class().eval()


@pytest.mark.parametrize("name", MODELS)
def test_scripts(generated, name: str) -> None:
    torch.jit.script(on_meta(generated[name][0]))


def test_the_exported_nets_hold_every_construct(generated) -> None:
    every = set().union(*(c for _, _, c in generated.values()))
    assert every == set().union(*(generated[name][2] for name in EXPORTED))


@pytest.mark.parametrize("name", EXPORTED)
def test_exports_at_a_dynamic_batch(generated, name: str) -> None:
    module_class, shape, _ = generated[name]
    module = on_meta(module_class)
    batch = torch.export.Dim("batch", min=1, max=64)
    example = torch.zeros((2, *shape[1:]), device="meta")
    program = torch.export.export(module, (example,), dynamic_shapes=({0: batch},))
    (user_input,) = program.graph_signature.user_inputs
    placeholder = next(node for node in program.graph.nodes if node.name == user_input)
    assert isinstance(placeholder.meta["val"].shape[0], torch.SymInt)  # the batch stayed symbolic


def test_named_after_the_model_loaded_by_load_and_scripted_as_caffe_computed(tmp_path) -> None:
    case = golden_case("squeezenet_v1.1")
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"])
    pipeline.emit(conversion, formats=("pytorch",))
    pipeline.save(conversion, tmp_path, "squeezenet")
    module_class = getattr(import_file(tmp_path / "squeezenet.py"), conversion.torch_export.class_name)
    assert module_class.__name__ == "DeepscaleSqueezenetV1_1"  # the deploy file names no net
    module = module_class.load(tmp_path / "squeezenet.pth")
    assert not module.training
    blobs = np.load(case["blobs_path"])
    x = torch.from_numpy(np.concatenate([blobs["input|data"]] * 2))
    expected = np.concatenate([blobs["output|prob"]] * 2)
    scripted = torch.jit.script(module)
    with torch.no_grad():
        for out in (module(x), scripted(x), scripted(x[:1])):
            np.testing.assert_allclose(out.numpy(), expected[: out.shape[0]], rtol=1e-4, atol=1e-6)
