"""Issue 3: the paper's Table 1 from any prototxt. Expected numbers come from the paper and the
issue; sparsity is computed here from the golden caffemodel parsed independently with protobuf."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, SHARED, golden_case
from converter.caffe import caffe_pb2
from converter.inspect import inspect_net

MODELS = SHARED / "reference_models"
V10 = MODELS / "deepscale_squeezenet_v1.0" / "deploy.prototxt"
V11 = MODELS / "deepscale_squeezenet_v1.1" / "deploy.prototxt"
DC = MODELS / "deep_compression_squeezenet"
SHAPE = {"data": (1, 3, 227, 227)}


def rows(table) -> dict:
    return {r.name: r for r in table.rows}


def test_squeezenet_v10_matches_the_paper():
    table = inspect_net(V10, input_shapes=SHAPE)
    assert table.params == 1_248_424
    r = rows(table)
    expected = {"conv1": 14_208, "fire2": 11_920, "fire3": 12_432, "fire4": 45_344, "fire5": 49_440,
                "fire6": 104_880, "fire7": 111_024, "fire8": 188_992, "fire9": 197_184, "conv10": 513_000}
    assert {name: r[name].params for name in expected} == expected
    sizes = {"conv1": 111, "fire2": 55, "fire3": 55, "fire4": 55, "fire5": 27, "fire6": 27, "fire7": 27,
             "fire8": 27, "fire9": 13, "conv10": 15}
    assert {name: int(r[name].output.split("x")[0]) for name in sizes} == sizes
    assert (r["fire2"].s1x1, r["fire2"].e1x1, r["fire2"].e3x3, r["fire2"].depth) == (16, 64, 64, 2)
    assert r["conv1"].filter == "7x7/2"


def test_squeezenet_v11_totals_and_maps():
    table = inspect_net(V11, input_shapes=SHAPE)
    assert table.params == 1_235_496
    r = rows(table)
    assert [int(r[n].output.split("x")[0]) for n in ("conv1", "pool1", "pool3", "pool5")] == [113, 56, 28, 14]


@pytest.fixture(scope="module")
def golden_dc_weights() -> dict[str, np.ndarray]:
    case = golden_case("deep_compression_cat")
    net = caffe_pb2.NetParameter()
    net.ParseFromString(case["weights_path"].read_bytes())
    return {layer.name: np.array(layer.blobs[0].data, np.float32) for layer in net.layer if layer.blobs}


@pytest.mark.parametrize("weights", ["golden", "net"])
def test_deep_compression_sparsity_per_layer(golden_dc_weights, weights):
    golden = golden_case("deep_compression_cat")["weights_path"]
    path = golden if weights == "golden" else DC / "compressed_SqueezeNet.net"
    r = rows(inspect_net(DC / "SqueezeNet_deploy.prototxt", path))
    for row_name, layers in [("conv1", ["conv1"]), ("conv_final", ["conv_final"]),
                             ("fire2", ["fire2/conv1x1_1", "fire2/conv1x1_2", "fire2/conv3x3_2"])]:
        flat = np.concatenate([golden_dc_weights[name] for name in layers])
        assert r[row_name].sparsity == pytest.approx(np.mean(flat == 0), abs=1e-12)
        assert r[row_name].distinct == np.unique(flat).size
    assert r["fire2"].sparsity > 0.3  # the pruned model really is sparse


def test_cli_outputs(tmp_path):
    def run(*args):
        done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "inspect", str(V10), *args],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    data = json.loads(run("--json", "--input-shape", "1,3,227,227"))
    assert data["total_params"] == 1_248_424 and data["fp32_bytes"] == 4 * 1_248_424
    markdown = run("--markdown")
    assert markdown.splitlines()[0].startswith("| layer | type |") and markdown.splitlines()[1].startswith("|---")
    assert "fire2" in run()
