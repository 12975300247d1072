"""Shared test fixtures: where ../shared is, and the golden cases real Caffe computed."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

# One compute thread per test process: the suite runs on two xdist workers (CI has 2 cores), and a
# BLAS or PyTorch (OpenMP) pool of one thread per core in each worker oversubscribes the cores, its
# threads spinning while they wait: about half of the suite's CPU time went there. Set before numpy
# or torch is imported (here, in the controller, before the workers start: they inherit it, as do the
# processes tests start); a value given in the environment is kept.
for _threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")

import numpy as np  # noqa: E402 - after the thread settings
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
GOLDEN = SHARED / "golden"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def require_shared(folder: Path = SHARED) -> None:
    """The whole session stops at once, with one message, when ../shared is not beside the repo
    (rather than each test failing with its own "not found")."""
    if not folder.is_dir():
        pytest.exit(f"{folder} not found: the tests read the shared data (golden/ blobs real Caffe computed, "
                    "reference_models/, wild/) from a folder named 'shared' beside the repository's root; "
                    "put it there (or a link to it) and run again", returncode=4)


def pytest_sessionstart(session: pytest.Session) -> None:
    require_shared()


# The modules holding the suite's longest tests (tens of seconds each on a loaded 2-core machine), run
# first: xdist (--dist worksteal, pyproject.toml) gives each worker half of the tests in this order and
# lets a worker that runs dry take tests still waiting on the other, so the long tests start early and
# the short ones fill in at the end, instead of one worker finishing a long test alone. Whole modules
# move (their module-scoped fixtures stay shared); the order is only about time: no test depends on it.
RUN_FIRST = ("test_make_weights.py", "test_squeezenet_end_to_end.py", "test_zoo.py", "test_oracle_backends.py",
             "test_verify_images.py", "test_legacy_v1.py", "test_verify_artifacts.py",
             "emit_torch/test_detection_output.py", "test_deploy_torch_module.py", "test_wild_models.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    rank = {name: i for i, name in enumerate(RUN_FIRST)}

    def module_rank(item: pytest.Item) -> int:
        return rank.get(item.path.relative_to(tests).as_posix(), len(RUN_FIRST))

    items.sort(key=module_rank)  # stable: collection order within and after these modules


# The public fork prototxts in ../shared/wild that convert, each with the batch-1 input shape the
# sweeps run it at (the smallest the net allows, or near it, to keep the tests fast).
WILD_MODELS: dict[str, tuple[int, ...]] = {
    "fcn8s_voc": (1, 3, 32, 32),
    "yolov3_tiny": (1, 3, 32, 32),
    "shufflenet_v2": (1, 3, 64, 64),  # OpenCV 4.14 computes garbage for a padded depthwise conv on 1x1
    "se_resnet50": (1, 3, 195, 195),  # a 7x7 pooling after stride 32
    "densenet121": (1, 3, 32, 32),
    "resnet152": (1, 3, 195, 195),  # a 7x7 pooling after stride 32
    "srcnn": (1, 1, 33, 33),
    "enet_cityscapes": (1, 3, 32, 64),  # three 2x2 poolings, unpooled by their masks
    "res10_ssd_face": (1, 3, 300, 300),  # the deploy size: the SSD heads' last maps are 1x1 there
    "mobilenet_ssd": (1, 3, 300, 300),
    "faster_rcnn_zf": (1, 3, 96, 96),  # a 7x7 feature map (stride 16); its im_info input is (1, 3)
}


def golden_case(name: str) -> dict:
    """case.json of a golden case, with absolute `prototxt_path`, `weights_path`, `blobs_path`."""
    folder = GOLDEN / name
    if not (folder / "case.json").exists():
        pytest.fail(f"golden case {name} not found under {GOLDEN}: the tests need ../shared beside the repo")
    case = json.loads((folder / "case.json").read_text())
    case["prototxt_path"] = SHARED / case["prototxt"]
    case["weights_path"] = folder / case["weights_file"]
    case["blobs_path"] = folder / "blobs.npz"
    return case


def shared_path(*parts: str | Path) -> Path:
    """A file or folder under ../shared. A missing one fails the test (never skips it): the tests
    need ../shared beside the repo."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path} not found: the tests need ../shared beside the repo")
    return path


def caffemodel_blobs(path: Path) -> dict[str, list[np.ndarray]]:
    """Each layer's weight blobs as protobuf's own parser reads the caffemodel: expected values built
    from these do not depend on the reader under test."""
    from converter.caffe import caffe_pb2

    model = caffe_pb2.NetParameter()
    model.ParseFromString(Path(path).read_bytes())
    blobs: dict[str, list[np.ndarray]] = {}
    for layer in [*model.layer, *model.layers]:
        arrays = []
        for blob in layer.blobs:
            shape = tuple(blob.shape.dim) if blob.HasField("shape") else (blob.num, blob.channels, blob.height,
                                                                           blob.width)
            arrays.append(np.asarray(blob.data, np.float32).reshape(shape))
        blobs[layer.name] = arrays
    return blobs


@pytest.fixture
def shared() -> Path:
    if not SHARED.exists():
        pytest.fail(f"{SHARED} not found: the tests need ../shared beside the repo")
    return SHARED


TINY_NET = ('name: "tiny"\ninput: "data"\ninput_shape { dim: 1 dim: 3 dim: 8 dim: 8 }\n'
            'layer { name: "c1" type: "Convolution" bottom: "data" top: "c1" '
            "convolution_param { num_output: 4 kernel_size: 3 } }\n"
            'layer { name: "r" type: "ReLU" bottom: "c1" top: "c1" }\n'
            'layer { name: "c2" type: "Convolution" bottom: "c1" top: "c2" '
            "convolution_param { num_output: 2 kernel_size: 1 } }\n")
"""Two convolutions with a ReLU between: the smallest net with weights, an in-place layer and an
intermediate blob."""


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    """tiny.prototxt (TINY_NET) and its deterministic demo weights tiny.caffemodel, in tmp_path."""
    from converter.caffe.synthetic import write_synthetic_weights

    proto = tmp_path / "tiny.prototxt"
    proto.write_text(TINY_NET)
    weights = tmp_path / "tiny.caffemodel"
    write_synthetic_weights(proto, weights)
    return proto, weights



def with_demo_weights(folder: Path, name: str, text: str) -> tuple[Path, Path]:
    """`text` written to folder/<name>.prototxt and its deterministic demo weights to
    folder/<name>.caffemodel (calibrated as make-weights does)."""
    from converter.caffe.synthetic import write_synthetic_weights

    proto = folder / f"{name}.prototxt"
    proto.write_text(text)
    weights = folder / f"{name}.caffemodel"
    write_synthetic_weights(proto, weights)
    return proto, weights


@dataclass(frozen=True)
class CliRun:
    """What a run of the command line gave: exit code, stdout and stderr apart."""

    returncode: int
    stdout: str
    stderr: str


def run_cli_in_process(*args: str | Path, cwd: Path | None = None) -> CliRun:
    """`squeeze-convert ARGS` run in this process by click's CliRunner, reported as a subprocess's run
    would be. It spares each call an interpreter and the imports of torch and onnxruntime (about 2 s of
    CPU); tests of what only a real process shows (entry points, signals, what reaches file
    descriptor 1, a fresh interpreter's imports) start one. An exception escaping the command (which
    a real process would turn into exit 1, a verification mismatch's code) is raised, not reported."""
    from click.testing import CliRunner

    import cli

    with contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext():
        result = CliRunner().invoke(cli.main, [str(arg) for arg in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return CliRun(result.exit_code, result.stdout, result.stderr)
