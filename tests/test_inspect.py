"""Issue 3: the paper's Table 1 from any prototxt. Expected numbers come from the paper and the
issue; sparsity and distinct values are computed here from the golden caffemodel parsed
independently with protobuf, never by the code under test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, WILD_MODELS, golden_case, run_cli_in_process, shared_path
from converter.caffe import caffe_pb2
from converter.inspect import Row, Table, inspect_net

MODELS = shared_path("reference_models")
V10 = shared_path("reference_models", "deepscale_squeezenet_v1.0", "deploy.prototxt")
V11 = shared_path("reference_models", "deepscale_squeezenet_v1.1", "deploy.prototxt")
DC_PROTOTXT = shared_path("reference_models", "deep_compression_squeezenet", "SqueezeNet_deploy.prototxt")
DC_NET = shared_path("reference_models", "deep_compression_squeezenet", "compressed_SqueezeNet.net")
SHAPE = {"data": (1, 3, 227, 227)}


def rows(table: Table) -> dict[str, Row]:
    return {r.name: r for r in table.rows}


def test_squeezenet_v10_matches_the_paper() -> None:
    table = inspect_net(V10, input_shapes=SHAPE)
    assert table.params == 1_248_424
    assert table.totals()["fp32_bytes"] == 4 * 1_248_424
    r = rows(table)
    expected = {"conv1": 14_208, "fire2": 11_920, "fire3": 12_432, "fire4": 45_344, "fire5": 49_440,
                "fire6": 104_880, "fire7": 111_024, "fire8": 188_992, "fire9": 197_184, "conv10": 513_000}
    assert {name: r[name].params for name in expected} == expected
    sizes = {"conv1": 111, "fire2": 55, "fire3": 55, "fire4": 55, "fire5": 27, "fire6": 27, "fire7": 27,
             "fire8": 27, "fire9": 13, "conv10": 15}
    assert {name: r[name].output.split("x")[:2] for name in sizes} == {n: [str(s)] * 2 for n, s in sizes.items()}
    assert r["conv1"].output == "111x111x96" and r["conv10"].output == "15x15x1000"
    assert (r["fire2"].s1x1, r["fire2"].e1x1, r["fire2"].e3x3) == (16, 64, 64)
    assert (r["fire9"].s1x1, r["fire9"].e1x1, r["fire9"].e3x3) == (64, 256, 256)
    assert r["conv1"].filter == "7x7/2" and r["pool1"].filter == "3x3/2" and r["conv10"].filter == "1x1/1"
    # Depth as in the paper: 1 per conv, 2 per Fire, 0 for pooling; 18 in all.
    assert [r.depth for r in table.rows if r.depth] == [1] + [2] * 8 + [1]
    assert r["pool1"].depth == 0 and table.totals()["depth"] == 18
    # ReLUs are folded into the layer they follow; Dropout (an identity) has no row.
    names = [row.name for row in table.rows]
    assert not any("relu" in n or "drop" in n for n in names)
    assert "relu_conv1" in r["conv1"].layers
    assert all(row.sparsity is None and row.distinct is None for row in table.rows)  # no weights given


def test_squeezenet_v11_totals_and_maps() -> None:
    table = inspect_net(V11, input_shapes=SHAPE)
    assert table.params == 1_235_496
    r = rows(table)
    assert [int(r[n].output.split("x")[0]) for n in ("conv1", "pool1", "pool3", "pool5")] == [113, 56, 28, 14]
    assert [r[n].output.split("x")[0] for n in ("fire2", "fire4", "fire6", "fire9")] == ["56", "28", "14", "14"]


def test_fire_parts_add_up() -> None:
    for row in inspect_net(V10, input_shapes=SHAPE).rows:
        if row.type == "fire":
            assert row.parts is not None and [p.role for p in row.parts] == ["s1x1", "e1x1", "e3x3"]
            assert sum(p.params for p in row.parts) == row.params


def _golden_weights() -> dict[str, np.ndarray]:
    """Blob 0 of every layer of the golden caffemodel, read with protobuf alone."""
    case = golden_case("deep_compression_cat")
    net = caffe_pb2.NetParameter()
    net.ParseFromString(case["weights_path"].read_bytes())
    layers = list(net.layer) or list(net.layers)
    return {layer.name: np.array(layer.blobs[0].data, np.float32) for layer in layers if layer.blobs}


@pytest.fixture(scope="module")
def golden_dc_weights() -> dict[str, np.ndarray]:
    return _golden_weights()


def _check_against_golden(table: Table, golden: dict[str, np.ndarray]) -> None:
    r = rows(table)
    for row_name in ("conv1", "conv_final"):
        w = golden[row_name]
        assert r[row_name].sparsity == pytest.approx(np.mean(w == 0), abs=1e-12)
        assert r[row_name].zeros == np.count_nonzero(w == 0)
        assert r[row_name].distinct == np.unique(w).size
    squeeze = next(p for p in r["fire2"].parts or [] if p.role == "s1x1")
    assert squeeze.name == "fire2/conv1x1_1"
    w = golden["fire2/conv1x1_1"]
    assert squeeze.sparsity == pytest.approx(np.mean(w == 0), abs=1e-12)
    assert squeeze.distinct == np.unique(w).size
    fire = np.concatenate([golden[n] for n in ("fire2/conv1x1_1", "fire2/conv1x1_2", "fire2/conv3x3_2")])
    assert r["fire2"].sparsity == pytest.approx(np.mean(fire == 0), abs=1e-12)
    assert r["fire2"].distinct == np.unique(fire).size
    # Whole model: every layer with blobs in this net is a convolution, blob 0 its weights.
    everything = np.concatenate(list(golden.values()))
    assert table.weights == everything.size
    assert table.zeros == np.count_nonzero(everything == 0)
    assert table.sparsity == pytest.approx(np.mean(everything == 0), abs=1e-12)
    assert table.distinct == np.unique(everything).size
    assert table.sparsity > 0.5  # the pruned model really is sparse


def test_deep_compression_sparsity_from_caffemodel(golden_dc_weights: dict[str, np.ndarray]) -> None:
    golden = golden_case("deep_compression_cat")["weights_path"]
    _check_against_golden(inspect_net(DC_PROTOTXT, golden), golden_dc_weights)


def test_deep_compression_sparsity_from_compressed_net(golden_dc_weights: dict[str, np.ndarray]) -> None:
    _check_against_golden(inspect_net(DC_PROTOTXT, DC_NET), golden_dc_weights)


def test_with_and_without_weights_agree() -> None:
    """Placeholder weights give the same table as real ones, statistics apart."""
    golden = golden_case("deep_compression_cat")["weights_path"]
    columns = ("name", "type", "output", "filter", "depth", "s1x1", "e1x1", "e3x3", "params", "weights", "layers")

    def strip(table: Table) -> list[tuple[object, ...]]:
        return [tuple(getattr(row, c) for c in columns) for row in table.rows]

    assert strip(inspect_net(DC_PROTOTXT, input_shapes=SHAPE)) == strip(inspect_net(DC_PROTOTXT, golden))


def _cli(*args: str | Path) -> str:
    done = run_cli_in_process("inspect", *args, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_cli_json() -> None:
    data = json.loads(_cli(V10, "--json", "--input-shape", "1,3,227,227"))
    assert set(data) == {"model", "inputs", "with_weights", "rows", "totals"}
    assert data["inputs"] == {"data": [1, 3, 227, 227]}
    totals = data["totals"]
    assert totals["params"] == 1_248_424 and totals["fp32_bytes"] == 4 * 1_248_424
    assert totals["fp32_mb"] == pytest.approx(4.993696) and totals["depth"] == 18
    assert totals["sparsity"] is None
    fire2 = next(row for row in data["rows"] if row["name"] == "fire2")
    assert (fire2["params"], fire2["output"], fire2["depth"]) == (11_920, "55x55x128", 2)


def test_cli_json_with_weights(golden_dc_weights: dict[str, np.ndarray]) -> None:
    golden = golden_case("deep_compression_cat")["weights_path"]
    totals = json.loads(_cli(DC_PROTOTXT, "--weights", golden, "--json"))["totals"]
    everything = np.concatenate(list(golden_dc_weights.values()))
    assert totals["sparsity"] == pytest.approx(np.mean(everything == 0), abs=1e-12)
    assert totals["distinct"] == np.unique(everything).size


def test_cli_markdown_and_text() -> None:
    lines = _cli(V10, "--markdown").splitlines()
    assert lines[0].startswith("| layer | type | output HxWxC |") and lines[0].endswith("| params |")
    assert set(lines[1]) <= set("|-") and lines[1].count("|") == lines[0].count("|")
    assert any(line.startswith("| fire2 | fire | 55x55x128 |") for line in lines)
    text = _cli(V10)
    assert "fire2" in text and "1,248,424" in text


def test_cli_bad_input_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.prototxt"
    bad.write_text('layer { name: "c" type: "Convolution" bottom: "nowhere" top: "c" }\n')
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "inspect", str(bad)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "declares no input" in done.stderr


def test_paper_columns_after_pruning_and_bits(golden_dc_weights: dict[str, np.ndarray]) -> None:
    """The paper's '# parameter after pruning' and '# bits' columns, from the .net, against the
    golden weights: parameters (the issue's numbers) less the zero weights counted here; the index
    width of each layer's distinct values (256 of them: the 8-bit, 0.66 MB model)."""
    r = rows(inspect_net(DC_PROTOTXT, DC_NET))
    fire2 = ("fire2/conv1x1_1", "fire2/conv1x1_2", "fire2/conv3x3_2")
    for row_name, params, layers in (("conv1", 14_208, ["conv1"]), ("fire2", 11_920, fire2),
                                     ("conv_final", 513_000, ["conv_final"])):
        zeros = sum(np.count_nonzero(golden_dc_weights[n] == 0) for n in layers)
        assert r[row_name].nonzero == params - zeros
        assert r[row_name].bits == max(int(np.ceil(np.log2(np.unique(golden_dc_weights[n]).size))) for n in layers)
    assert r["conv1"].bits == 8
    parts = {p.role: p for p in r["fire2"].parts or []}
    assert (parts["s1x1"].output, parts["s1x1"].filter) == ("55x55x16", "1x1/1")
    assert (parts["e3x3"].output, parts["e3x3"].filter) == ("55x55x64", "3x3/1")
    w = golden_dc_weights["fire2/conv3x3_2"]
    assert parts["e3x3"].nonzero == 9_216 + 64 - np.count_nonzero(w == 0)
    # The paper prunes e3x3 to about a third (its "33%" is the fraction kept).
    assert 0.6 < parts["e3x3"].sparsity < 0.7


def test_text_shows_each_fire_convolution_and_the_weights_file(golden_dc_weights: dict[str, np.ndarray]) -> None:
    text = _cli(DC_PROTOTXT, "--weights", DC_NET)
    w = golden_dc_weights["fire2/conv3x3_2"]
    (line,) = [line for line in text.splitlines() if line.startswith("  fire2/conv3x3_2 ")]
    assert line.split()[1:4] == ["e3x3", "55x55x64", "3x3/1"]
    assert f"{np.mean(w == 0):.1%}" in line.split() and str(np.unique(w).size) in line.split()
    assert f"{DC_NET.name}: {DC_NET.stat().st_size:,} bytes" in text
    header = text.splitlines()[1].split()
    assert header[-4:] == ["nonzero", "sparsity", "distinct", "bits"]
    assert max(len(line) for line in text.splitlines()) <= 120


def test_json_schema_is_the_same_with_and_without_weights() -> None:
    bare = json.loads(_cli(DC_PROTOTXT, "--json"))
    full = json.loads(_cli(DC_PROTOTXT, "--weights", DC_NET, "--json"))
    assert set(bare) == set(full) == {"model", "inputs", "with_weights", "rows", "totals"}
    assert set(bare["totals"]) == set(full["totals"])
    assert [set(row) for row in bare["rows"]] == [set(row) for row in full["rows"]]
    bare_fire, full_fire = (next(row for row in d["rows"] if row["name"] == "fire2") for d in (bare, full))
    assert [set(p) for p in bare_fire["parts"]] == [set(p) for p in full_fire["parts"]]
    assert full["totals"]["weights_file_bytes"] == DC_NET.stat().st_size
    assert bare["totals"]["weights_file_bytes"] is None and bare_fire["parts"][0]["sparsity"] is None


def test_nets_without_fire_modules_have_no_fire_columns() -> None:
    text = _cli(MODELS / "bvlc" / "bvlc_alexnet" / "deploy.prototxt")
    assert "s1x1" not in text and "60,965,224" in text  # AlexNet's well-known parameter count
    assert max(len(line) for line in text.splitlines()) <= 100


def test_markdown_is_a_valid_table_even_with_pipes_in_names(tmp_path: Path) -> None:
    prototxt = tmp_path / "pipes.prototxt"
    prototxt.write_text('input: "data" input_shape { dim: 1 dim: 3 dim: 8 dim: 8 }\n'
                        'layer { name: "a|b" type: "Convolution" bottom: "data" top: "c" '
                        'convolution_param { num_output: 2 kernel_size: 3 } }\n')
    lines = _cli(prototxt, "--markdown").splitlines()
    table = lines[: lines.index("")]

    def cells(line: str) -> int:  # unescaped pipes delimit cells
        return len(line.replace("\\|", "")) - len(line.replace("\\|", "").replace("|", ""))

    assert len(table) == 4 and len({cells(line) for line in table}) == 1
    assert table[2].startswith("| a\\|b | conv |")


@pytest.mark.parametrize("prototxt", sorted(p.relative_to(MODELS).as_posix() for p in MODELS.rglob("*.prototxt")))
def test_every_reference_prototxt_inspects(prototxt: str) -> None:
    path = MODELS / prototxt
    shape = [] if "deploy" in path.name or "layer_zoo" in path.name else ["--input-shape", "1,3,227,227"]
    data = json.loads(_cli(path, "--json", *shape))
    assert data["rows"] and data["totals"]["params"] > 0
    if "squeezenet" in prototxt and "v1.1" not in prototxt:  # v1.0, its Deep Compression twin, the residual one
        assert data["totals"]["params"] == 1_248_424
    markdown = _cli(path, "--markdown", *shape).splitlines()
    assert len({line.count("|") for line in markdown[: markdown.index("")]}) == 1


@pytest.mark.parametrize("name", sorted(WILD_MODELS))
def test_every_supported_wild_prototxt_inspects(name: str) -> None:
    table = inspect_net(shared_path("wild", name, "deploy.prototxt"), input_shapes={"data": WILD_MODELS[name]})
    assert table.rows and table.params > 0
    assert table.totals()["fp32_bytes"] == 4 * table.params


@pytest.mark.parametrize("kind", ["DepthwiseConvolution", "ConvolutionDepthwise"])
def test_the_forks_depthwise_convolutions_count_their_weights(tmp_path: Path, kind: str) -> None:
    # Blob 0 of the forks' depthwise layers is their weight tensor, as Convolution's is: counted in
    # `weights`, its zeros in the sparsity. Weights written here, with 5 of the 4 * 9 zeroed.
    prototxt = tmp_path / "dw.prototxt"
    prototxt.write_text('input: "data" input_shape { dim: 1 dim: 4 dim: 6 dim: 6 }\n'
                        f'layer {{ name: "dw" type: "{kind}" bottom: "data" top: "dw" '
                        "convolution_param { num_output: 4 group: 4 kernel_size: 3 bias_term: false } }\n")
    weight = np.arange(1, 37, dtype=np.float32).reshape(4, 1, 3, 3)
    weight.reshape(-1)[[0, 7, 12, 20, 35]] = 0
    model = caffe_pb2.NetParameter()
    blob = model.layer.add(name="dw", type=kind).blobs.add()
    blob.shape.dim.extend(weight.shape)
    blob.data.extend(weight.reshape(-1).tolist())
    (tmp_path / "dw.caffemodel").write_bytes(model.SerializeToString())
    (row,) = [r for r in inspect_net(prototxt, tmp_path / "dw.caffemodel").rows if r.name == "dw"]
    assert (row.params, row.weights, row.zeros, row.distinct) == (36, 36, 5, 32)
