"""Which Caffe build a net is read for where builds differ (converter.caffe.fork_semantics): the
YOLOv3 ports' Pooling, which adds a window when kernel - stride is odd (darknet2caffe's
pooling_layer.cpp), against BVLC's, chosen by --caffe-fork, else by what the net's shapes need; and
HED's Crop without crop_param (offsets from the coordinate maps; tests/caffe_layers/test_crop.py
checks them), which nothing in a file tells from BVLC's offset 0."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.caffe.loader import load_net
from converter.errors import ConverterError, ModelError

# YOLOv3-tiny's pattern, small: a size-2 stride-1 maxpool on a 6x6 map, upsampled and routed
# (Concat) with a 12x12 map. Only a 6x6 pooled map (the YOLO ports' reading) fits the Concat.
ROUTED = '''input: "data" input_shape { dim: 1 dim: 2 dim: 12 dim: 12 }
layer { name: "down" type: "Pooling" bottom: "data" top: "down" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "keep" type: "Pooling" bottom: "down" top: "keep" pooling_param { pool: MAX kernel_size: 2 stride: 1 } }
layer { name: "up" type: "Upsample" bottom: "keep" top: "up" upsample_param { scale: 2 } }
layer { name: "route" type: "Concat" bottom: "up" bottom: "data" top: "route" }
'''


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "net.prototxt"
    path.write_text(text)
    return path


def test_the_shapes_decide_when_only_one_reading_fits(tmp_path) -> None:
    net = load_net(_write(tmp_path, ROUTED))
    assert net.caffe_fork == "yolov3"
    keep = next(layer for layer in net.layers if layer.name == "keep")
    assert keep.top_shapes == [(1, 2, 6, 6)]  # BVLC: 5x5
    (note,) = net.notes
    assert "layer 'route'" in note and "'keep'" in note and "'down'" not in note and "--caffe-fork" in note


def test_an_explicit_bvlc_reading_is_refused_naming_the_layer_that_does_not_fit(tmp_path) -> None:
    with pytest.raises(ModelError, match=r"layer 'route': bottoms must match"):
        load_net(_write(tmp_path, ROUTED), caffe_fork="bvlc")


def test_bvlc_when_both_fit_and_a_note_when_the_net_holds_the_yolo_upsample(tmp_path) -> None:
    unrouted = ROUTED.replace('layer { name: "route" type: "Concat" bottom: "up" bottom: "data" top: "route" }\n', "")
    net = load_net(_write(tmp_path, unrouted))
    assert net.caffe_fork == "bvlc"
    assert next(layer for layer in net.layers if layer.name == "keep").top_shapes == [(1, 2, 5, 5)]
    (note,) = net.notes
    assert "'keep'" in note and "both readings fit" in note and "--caffe-fork yolov3" in note
    plain = unrouted.replace('layer { name: "up" type: "Upsample" bottom: "keep" top: "up" upsample_param '
                             '{ scale: 2 } }\n', "")
    net = load_net(_write(tmp_path, plain))
    assert net.caffe_fork == "bvlc" and net.notes == []
    assert load_net(_write(tmp_path, plain), caffe_fork="yolov3").layers[1].top_shapes == [(1, 2, 6, 6)]


def test_a_net_fitting_neither_reading_gets_the_bvlc_error(tmp_path) -> None:
    broken = ROUTED.replace('bottom: "data" top: "route"', 'bottom: "down" top: "route"')
    with pytest.raises(ModelError, match=r"layer 'route': bottoms must match.*\[1, 2, 10, 10\]"):
        load_net(_write(tmp_path, broken))


def test_the_command_line_option(tmp_path) -> None:
    import cli
    from converter.caffe.fork_semantics import use_caffe_fork

    plain = _write(tmp_path, 'input: "data" input_shape { dim: 1 dim: 2 dim: 7 dim: 7 }\n'
                             'layer { name: "pool" type: "Pooling" bottom: "data" top: "pool" '
                             'pooling_param { pool: MAX kernel_size: 3 stride: 2 } }\n')
    outputs = {}
    for fork in ("bvlc", "yolov3"):
        done = CliRunner().invoke(cli.main, ["inspect", str(plain), "--json", "--caffe-fork", fork])
        assert done.exit_code == 0, done.output
        outputs[fork] = done.output
    assert '"3x3x2"' in outputs["bvlc"] and '"4x4x2"' in outputs["yolov3"]
    assert load_net(plain).layers[0].top_shapes == [(1, 2, 3, 3)]  # the option ends with the command
    done = CliRunner().invoke(cli.main, ["inspect", str(plain), "--caffe-fork", "caffe2"])
    assert done.exit_code == 2 and "caffe2" in done.output
    with pytest.raises(ConverterError, match="unknown Caffe fork 'ssd'"):
        use_caffe_fork("ssd")


# HED's side output: the deconvolved scores sit 3 cells into the data's coordinates (conv pad 3).
HED_SIDE = """input: "data" input_shape { dim: 1 dim: 1 dim: 8 dim: 8 }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
  convolution_param { num_output: 1 kernel_size: 3 pad: 3 } }
layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "up" type: "Deconvolution" bottom: "pool" top: "up"
  convolution_param { num_output: 1 kernel_size: 4 stride: 2 } }
layer { name: "crop" type: "Crop" bottom: "up" bottom: "data" top: "out" }
"""


def test_a_crop_without_crop_param_that_hed_would_offset_asks_which_caffe(tmp_path) -> None:
    import cli

    path = _write(tmp_path, HED_SIDE)
    with pytest.raises(ModelError, match=r"layer 'crop': Crop without crop_param .*'crop' at \[3, 3\].*--caffe-fork"):
        load_net(path)
    assert list(load_net(path, caffe_fork="hed").layers[-1].param.crop_param.offset) == [3, 3]
    assert list(load_net(path, caffe_fork="bvlc").layers[-1].param.crop_param.offset) == []
    done = CliRunner().invoke(cli.main, ["inspect", str(path)])
    assert done.exit_code == 2 and "--caffe-fork hed" in done.output and "Traceback" not in done.output
    assert CliRunner().invoke(cli.main, ["inspect", str(path), "--caffe-fork", "hed"]).exit_code == 0


def test_an_aligned_crop_or_one_hed_cannot_map_reads_as_bvlc(tmp_path) -> None:
    aligned = HED_SIDE.replace("pad: 3", "pad: 0")  # the maps agree: offset 0 in both Caffes
    assert load_net(_write(tmp_path, aligned)).caffe_fork == "bvlc"
    unmapped = HED_SIDE.replace('bottom: "pool" top: "up"', 'bottom: "norm" top: "up"').replace(
        'layer { name: "up"', 'layer { name: "bn" type: "BatchNorm" bottom: "pool" top: "norm" }\nlayer { name: "up"')
    net = load_net(_write(tmp_path, unmapped))  # HED's Caffe has no coordinate map for BatchNorm
    assert net.caffe_fork == "bvlc" and list(net.layers[-1].param.crop_param.offset) == []
    with pytest.raises(ModelError, match="layer 'bn': HED's Caffe has no coordinate map for BatchNorm"):
        load_net(_write(tmp_path, unmapped), caffe_fork="hed")
