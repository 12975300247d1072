"""`squeeze-convert deploy.prototxt` with no options: where the weights come from, where outputs go."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, golden_case, run_cli_in_process

POOL_ONLY = """name: "pool_only"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 5 dim: 5 } } }
layer { name: "pool" type: "Pooling" bottom: "data" top: "pool" pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "prob" type: "Softmax" bottom: "pool" top: "prob" }
"""


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """A real process (the other tests run the command in this one: run_cli_in_process)."""
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], capture_output=True, text=True)


def test_the_single_caffemodel_beside_the_prototxt_is_used(tmp_path):
    case = golden_case("squeezenet_v1.1")
    shutil.copy(case["prototxt_path"], tmp_path / "deploy.prototxt")
    shutil.copy(case["weights_path"], tmp_path / "squeezenet.caffemodel")
    done = run_cli_in_process(tmp_path / "deploy.prototxt", "--input-shape", "1,3,99,99")
    assert done.returncode == 0, done.stderr
    # deploy.prototxt is a generic name: outputs take the folder's name, beside the prototxt.
    stem = tmp_path.name.replace("-", "_")
    assert {p.name for p in tmp_path.iterdir()} >= {f"{stem}.onnx", f"{stem}.pth", f"{stem}.py"}


def test_several_caffemodels_beside_it_ask_for_a_choice(tmp_path):
    case = golden_case("squeezenet_v1.1")
    shutil.copy(case["prototxt_path"], tmp_path / "deploy.prototxt")
    for name in ("a.caffemodel", "b.caffemodel"):
        shutil.copy(case["weights_path"], tmp_path / name)
    done = run_cli_in_process(tmp_path / "deploy.prototxt")
    assert done.returncode == 2
    assert "a.caffemodel, b.caffemodel" in done.stderr and "--weights" in done.stderr


def test_a_net_without_parameters_needs_no_weights(tmp_path):
    (tmp_path / "pool_only.prototxt").write_text(POOL_ONLY)
    done = run_cli_in_process(tmp_path / "pool_only.prototxt", "-o", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "pool_only.onnx").exists()


def test_missing_weights_name_the_layers_that_need_them(tmp_path):
    case = golden_case("squeezenet_v1.1")
    shutil.copy(case["prototxt_path"], tmp_path / "deploy.prototxt")
    done = run_cli(tmp_path / "deploy.prototxt")
    assert done.returncode == 2
    assert "26 layers hold parameters (conv1, fire2/squeeze1x1, fire2/expand1x1, fire2/expand3x3" in done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["deploy.prototxt"]


def test_lifting_a_net_loaded_without_weights_names_the_first_layer_needing_them():
    import pytest

    from converter.caffe.loader import load_net
    from converter.errors import WeightsError
    from converter.lift import lift

    net = load_net(golden_case("squeezenet_v1.1")["prototxt_path"])
    with pytest.raises(WeightsError, match="layer 'conv1': the layer has no weights"):
        lift(net)
