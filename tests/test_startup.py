"""Start-up: converting without verification imports neither torch, nor onnx, nor onnxruntime
(each costs more than the whole conversion of a small net); the files it writes still load."""

from __future__ import annotations

import subprocess
import sys

import onnx
import torch

from conftest import ROOT, golden_case

PROGRAM = """
import sys
sys.argv = ["squeeze-convert", *sys.argv[1:]]
import cli
try:
    cli.main()
except SystemExit as done:
    assert not done.code, done.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {"torch", "onnx", "onnxruntime", "ml_dtypes"})
print("heavy:", heavy)
"""


def test_convert_without_verification_imports_no_torch_or_onnx(tmp_path) -> None:
    case = golden_case("squeezenet_v1.1")
    done = subprocess.run([sys.executable, "-c", PROGRAM, str(case["prototxt_path"]), "-w", str(case["weights_path"]),
                           "--no-verify", "-o", str(tmp_path), "--name", "sq"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "heavy: []" in done.stdout
    onnx.checker.check_model(onnx.load(str(tmp_path / "sq.onnx")), full_check=True)
    assert torch.load(tmp_path / "sq.pth", weights_only=True).keys()


def test_the_module_dict_names_listed_are_torchs() -> None:
    """The generic layout avoids ModuleDict's attribute names without importing torch: its list must
    hold every public attribute the installed torch's ModuleDict has."""
    from converter.emit.torch.generic import MODULE_DICT_ATTRIBUTES

    assert {n for n in dir(torch.nn.ModuleDict()) if not n.startswith("_")} <= MODULE_DICT_ATTRIBUTES
