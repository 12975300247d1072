"""What the command line prints: short lines, the details kept in the report."""

from __future__ import annotations

import json

from click.testing import CliRunner

from cli import main
from conftest import golden_case, run_cli_in_process


def test_squeezenet_v1_0_notes_fold_into_one_line_and_stay_in_the_report(tmp_path):
    from converter import pipeline

    case = golden_case("squeezenet_v1.0")
    args = [str(case["prototxt_path"]), "-w", str(case["weights_path"]), "--input-shape", "1,3,99,99",
            "-o", str(tmp_path), "--name", "v10"]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    notes = [line for line in done.output.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and len(notes[0]) <= 120, notes
    assert notes[0].endswith("4 more notes in v10.report.json")

    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"], input_shapes={"data": (1, 3, 99, 99)})
    pipeline.emit(conversion, formats=("pytorch",))
    expected = [f"PyTorch: {note}" for note in conversion.torch_export.notes]
    assert len(expected) == 5
    assert json.loads((tmp_path / "v10.report.json").read_text())["notes"] == expected

    done = CliRunner().invoke(main, [*args, "--force", "--no-verify", "--verbose"])
    assert done.exit_code == 0, done.output
    assert [line for line in done.output.splitlines() if line.startswith("note:")] == \
        [f"note: {note}" for note in conversion.torch_export.notes]


def test_paths_are_printed_as_the_user_wrote_them(tmp_path):
    from converter.caffe.synthetic import write_synthetic_weights

    folder = tmp_path / "nets"
    folder.mkdir()
    (folder / "tiny.prototxt").write_text(
        'name: "tiny"\ninput: "data"\ninput_shape { dim: 1 dim: 3 dim: 8 dim: 8 }\n'
        'layer { name: "c1" type: "Convolution" bottom: "data" top: "c1" '
        "convolution_param { num_output: 4 kernel_size: 3 } }\n")
    write_synthetic_weights(folder / "tiny.prototxt", folder / "tiny.caffemodel")
    done = run_cli_in_process("nets/tiny.prototxt", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("nets/tiny.prototxt: ")
    assert [line for line in lines if line.startswith("wrote ")] == [
        f"wrote nets/tiny.{suffix}" for suffix in ("onnx", "pth", "py", "report.json")]


def test_an_unnamed_net_is_reported_under_its_output_name(tmp_path):
    from converter.caffe.synthetic import write_synthetic_weights

    proto = tmp_path / "unnamed.prototxt"
    proto.write_text('input: "data"\ninput_shape { dim: 1 dim: 3 dim: 8 dim: 8 }\n'
                     'layer { name: "c1" type: "Convolution" bottom: "data" top: "c1" '
                     "convolution_param { num_output: 4 kernel_size: 3 } }\n")
    weights = tmp_path / "unnamed.caffemodel"
    write_synthetic_weights(proto, weights)
    runner = CliRunner()
    done = runner.invoke(main, [str(proto), "-w", str(weights), "-o", str(tmp_path / "out"), "--name", "mine"])
    assert done.exit_code == 0, done.output
    assert json.loads((tmp_path / "out" / "mine.report.json").read_text())["model"] == "mine"
    done = runner.invoke(main, ["verify", str(proto), "-w", str(weights), "--report", "-"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["model"] == "unnamed"


def test_a_missing_input_file_is_reported_alike_by_every_command(tmp_path):
    from converter.caffe.synthetic import write_synthetic_weights

    proto = tmp_path / "tiny.prototxt"
    proto.write_text('input: "data"\ninput_shape { dim: 1 dim: 3 dim: 8 dim: 8 }\n'
                     'layer { name: "p" type: "Pooling" bottom: "data" top: "p" '
                     "pooling_param { pool: MAX kernel_size: 2 } }\n")
    weights = tmp_path / "tiny.caffemodel"
    write_synthetic_weights(proto, weights)
    missing = tmp_path / "missing.file"
    runs = [
        [missing],
        [proto, "-w", missing],
        [proto, "--expect", missing],
        ["verify", missing],
        ["inspect", missing],
        ["inspect", proto, "-w", missing],
        ["classify", missing, proto],
        ["classify", proto, missing],
        ["classify", proto, proto, "--labels", missing],
        ["make-weights", missing],
    ]
    for args in runs:
        done = CliRunner().invoke(main, [str(a) for a in args])
        assert done.exit_code == 2, (args, done.output)
        assert done.output == f"error: {missing}: no such file\n", (args, done.output)
    done = CliRunner().invoke(main, ["inspect", str(tmp_path)])
    assert done.exit_code == 2 and done.output == f"error: {tmp_path}: is a directory, not a file\n"


def test_make_weights_into_a_folder_or_a_file(tmp_path):
    proto = tmp_path / "tiny.prototxt"
    proto.write_text('input: "data"\ninput_shape { dim: 1 dim: 3 dim: 8 dim: 8 }\n'
                     'layer { name: "c" type: "Convolution" bottom: "data" top: "c" '
                     "convolution_param { num_output: 2 kernel_size: 3 } }\n")
    runner = CliRunner()
    done = runner.invoke(main, ["make-weights", str(proto), "--out-dir", str(tmp_path / "w")])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "w" / "tiny.caffemodel").is_file()
    done = runner.invoke(main, ["make-weights", str(proto), "-o", str(tmp_path / "x.caffemodel")])
    assert done.exit_code == 0 and (tmp_path / "x.caffemodel").is_file()
    done = runner.invoke(main, ["make-weights", str(proto), "--output", str(tmp_path / "y.caffemodel"),
                                "--out-dir", str(tmp_path)])
    assert done.exit_code == 2 and "not both" in done.output
