"""A net that parses but is not a valid network (a window larger than its input, a Crop that
reads two ways) is refused naming the layer and where it is written: file:line:column."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_cli_in_process
from converter.caffe.loader import load_net
from converter.errors import ModelError

NET = """name: "pool"
input: "data"
input_shape { dim: 1 dim: 3 dim: 8 dim: 8 }
layer {
  name: "relu"
  type: "ReLU"
  bottom: "data"
  top: "data"
}
layer {
    name: "pool"
  type: "Pooling"
  bottom: "data"
  top: "pool"
  pooling_param { pool: MAX kernel_size: 20 stride: 1 }
}
"""


def test_a_shape_error_names_the_layers_line_and_column(tmp_path: Path) -> None:
    prototxt = tmp_path / "net.prototxt"
    prototxt.write_text(NET)
    with pytest.raises(ModelError) as raised:
        load_net(prototxt)
    # The net's own name is "pool" too: the layer's line is 11, column 5, not the first line.
    assert str(raised.value).startswith(f"{prototxt}:11:5: layer 'pool': kernel 20 exceeds")
    assert raised.value.layer == "pool"

    done = run_cli_in_process(prototxt, "--out-dir", tmp_path / "out")
    assert done.returncode == 2 and f"{prototxt}:11:5: layer 'pool'" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_layer_sharing_its_name_is_found_by_its_place(tmp_path: Path) -> None:
    """The second "pool" is "pool_1" (OpenCV's unique names); its place is the second block so named."""
    prototxt = tmp_path / "net.prototxt"
    prototxt.write_text(NET.replace('name: "relu"', 'name: "pool"'))
    with pytest.raises(ModelError, match=r"net.prototxt:11:5: layer 'pool_1': kernel 20"):
        load_net(prototxt)


def test_train_only_layers_of_the_name_are_counted_in_the_file_not_in_the_net(tmp_path: Path) -> None:
    """Unique names come from Caffe's TEST net; the block is found among every layer of the file."""
    prototxt = tmp_path / "net.prototxt"
    train_only = ('layer {\n  name: "pool"\n  type: "ReLU"\n  bottom: "data"\n  top: "data"\n'
                  '  include { phase: TRAIN }\n}\n')
    prototxt.write_text(NET.replace("layer {", train_only + "layer {", 1).replace('name: "relu"', 'name: "pool"'))
    # TEST net: the ReLU named "pool" (line 12), then the failing "pool" (line 18), its "pool_1".
    with pytest.raises(ModelError, match=r"net.prototxt:18:5: layer 'pool_1': kernel 20"):
        load_net(prototxt)
