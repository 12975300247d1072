"""Issue 14, the edges a newcomer hits first: a mistyped command, --debug anywhere, one meaning for
-o, `python -m squeeze_convert`, the README's code as written, the LICENSE, a complete sdist, and a
clear word when ../shared is missing."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile

import pytest
from click.testing import CliRunner

import conftest
from cli import main
from conftest import ROOT, TINY_NET


def cli(*args: object) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("typo, command", [("inpsect", "inspect"), ("verfy", "verify"), ("make-weight", "make-weights"),
                                           ("clasify", "classify")])
def test_a_mistyped_command_suggests_the_command(typo, command):
    done = cli(typo, "deploy.prototxt")
    assert done.exit_code == 2, done.output
    assert f"no such command '{typo}'" in done.output and f"did you mean '{command}'?" in done.output


def test_a_prototxt_named_like_a_command_is_still_converted(tiny, tmp_path, monkeypatch):
    proto, weights = tiny
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inpsect").write_text(TINY_NET)
    done = cli("inpsect", "-w", weights, "--no-verify", "--format", "onnx")
    assert done.exit_code == 0, done.output
    assert (tmp_path / "inpsect.onnx").is_file()


@pytest.mark.parametrize("where", ["first", "after the command", "last"])
def test_debug_works_anywhere_on_the_line(tiny, monkeypatch, where):
    from converter import inspect as inspect_module

    def broken(*_args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(inspect_module, "inspect_net", broken)
    proto, _ = tiny
    args = {"first": ["--debug", "inspect", proto], "after the command": ["inspect", "--debug", proto],
            "last": ["inspect", proto, "--debug"]}[where]
    done = cli(*args)
    assert isinstance(done.exception, RuntimeError)  # the traceback, not "internal error"
    assert cli("inspect", proto).exit_code == 4


def test_o_is_a_folder_for_make_weights_too(tiny, tmp_path):
    proto, _ = tiny
    done = cli("make-weights", proto, "-o", tmp_path / "weights")
    assert done.exit_code == 0, done.output
    assert (tmp_path / "weights" / "tiny.caffemodel").is_file()


def test_make_weights_o_with_a_file_name_still_works_and_says_it_is_deprecated(tiny, tmp_path):
    proto, _ = tiny
    done = cli("make-weights", proto, "-o", tmp_path / "mine.caffemodel")
    assert done.exit_code == 0, done.output
    assert "deprecated" in done.output and "--output" in done.output
    assert (tmp_path / "mine.caffemodel").is_file()


def test_python_m_squeeze_convert_is_the_command():
    done = subprocess.run([sys.executable, "-m", "squeeze_convert", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: squeeze-convert")


def test_the_readme_python_code_runs_as_written(tmp_path, monkeypatch):
    """Every ```python block of the README, in a folder holding the files it names."""
    from converter.caffe.synthetic import write_synthetic_weights

    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert blocks
    (tmp_path / "deploy.prototxt").write_text(TINY_NET)
    write_synthetic_weights(tmp_path / "deploy.prototxt", tmp_path / "net.caffemodel")
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})  # noqa: S102 - the project's own README
    assert sorted(p.name for p in (tmp_path / "converted").iterdir()) == [
        "squeezenet.onnx", "squeezenet.pth", "squeezenet.py", "squeezenet.report.json"]


def test_the_license_is_the_one_pyproject_names():
    text = (ROOT / "LICENSE").read_text()
    assert 'license = { text = "BSD-2-Clause" }' in (ROOT / "pyproject.toml").read_text()
    assert text.startswith("BSD 2-Clause License\n\nCopyright (c) 2026, the squeeze-convert authors\n")
    assert "Redistributions in binary form must reproduce" in text


def test_the_sdist_holds_the_schema_and_the_license(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta; "
                           "print(build_meta.build_sdist(sys.argv[1]))", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with tarfile.open(tmp_path / done.stdout.split()[-1]) as sdist:
        names = {name.split("/", 1)[-1] for name in sdist.getnames()}
    assert {"protos/caffe.proto", "protos/generate.py", "LICENSE", "cli.py", "squeeze_convert/__main__.py",
            "converter/caffe/caffe_pb2.py", "reference_models/squeezenet_v1.1/deploy.prototxt"} <= names


def test_a_missing_shared_folder_stops_the_session_with_one_clear_message(tmp_path):
    with pytest.raises(pytest.exit.Exception, match="not found: the tests read the shared data"):
        conftest.require_shared(tmp_path / "shared")
