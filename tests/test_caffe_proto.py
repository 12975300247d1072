"""--caffe-proto: a fork's own caffe.proto, compiled at run time into a private pool, reads the
prototxt; what the converter knows is read by name, anything else is refused naming layer, field and
file:line:column."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from converter.caffe.loader import load_net
from converter.errors import ConverterError, UnsupportedLayersError

# A small fork schema of its own making: field numbers unlike BVLC's, a fork parameter message,
# an enum value BVLC lacks and a field whose type differs from BVLC's.
FORK_PROTO = """syntax = "proto2";
package caffe;
message BlobShape { repeated int64 dim = 1 [packed = true]; }
message NetParameter {
  optional string name = 1;
  repeated string input = 3;
  repeated BlobShape input_shape = 8;
  repeated LayerParameter layer = 100;
}
message LayerParameter {
  optional string name = 1;
  optional string type = 2;
  repeated string bottom = 3;
  repeated string top = 4;
  optional ConvolutionParameter convolution_param = 500;
  optional PoolingParameter pooling_param = 501;
  optional GainParameter gain_param = 502;
}
message ConvolutionParameter {
  optional uint32 num_output = 1;
  repeated uint32 kernel_size = 2;
  optional float group = 3;
}
message PoolingParameter {
  enum PoolMethod { MAX = 0; AVE = 1; MEDIAN = 7; }
  optional PoolMethod pool = 1;
  optional uint32 kernel_size = 2;
  optional uint32 stride = 3;
}
message GainParameter { optional float gain = 1 [default = 1]; }
"""

GOOD = """name: "forked"
input: "data" input_shape { dim: 1 dim: 2 dim: 6 dim: 6 }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
  convolution_param { num_output: 3 kernel_size: 3 } }
layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool" pooling_param { pool: AVE kernel_size: 2 stride: 2 } }
"""

BAD = GOOD.replace("num_output: 3 kernel_size: 3", "num_output: 3 kernel_size: 3 group: 1.5").replace(
    "pool: AVE", "pool: MEDIAN") + 'layer { name: "g" type: "Gain" bottom: "pool" top: "g" gain_param { gain: 2 } }\n'


@pytest.fixture
def fork(tmp_path):
    proto = tmp_path / "fork.proto"
    proto.write_text(FORK_PROTO)
    (tmp_path / "good.prototxt").write_text(GOOD)
    (tmp_path / "bad.prototxt").write_text(BAD)
    return tmp_path


def test_known_fields_are_read_by_name_into_the_superset(fork):
    net = load_net(fork / "good.prototxt", caffe_proto=fork / "fork.proto")
    conv, pool = net.layers
    assert (conv.param.convolution_param.num_output, list(conv.param.convolution_param.kernel_size)) == (3, [3])
    assert pool.param.pooling_param.pool == pool.param.pooling_param.AVE and pool.top_shapes == [(1, 3, 2, 2)]


def test_everything_the_converter_does_not_know_is_refused_at_once(fork):
    with pytest.raises(UnsupportedLayersError) as caught:
        load_net(fork / "bad.prototxt", caffe_proto=fork / "fork.proto")
    lines = BAD.split("\n")

    def at(word: str) -> str:
        line = next(i for i, text in enumerate(lines) if word in text)
        return f"{fork / 'bad.prototxt'}:{line + 1}:{lines[line].index(word) + 1}"

    message = str(caught.value)
    assert f"{at('group')}: layer 'conv' (Convolution): ConvolutionParameter.group: float in the fork, uint32 here" \
        in message
    assert f"{at('pool: MEDIAN')}: layer 'pool' (Pooling): PoolingParameter.pool has no value MEDIAN" in message
    assert f"{at('gain_param')}: layer 'g' (Gain): LayerParameter has no field 'gain_param'" in message
    assert "Gain: g" in message


def test_a_proto_protoc_rejects_names_its_error(tmp_path):
    from converter.caffe.schema import load_fork_schema

    broken = tmp_path / "broken.proto"
    broken.write_text('syntax = "proto2";\nmessage NetParameter { optional Missing x = 1; }\n')
    with pytest.raises(ConverterError, match=r"broken.proto: protoc cannot compile it:\n.*Missing"):
        load_fork_schema(broken)


def test_the_command_line_option(fork):
    import cli
    from converter.caffe.schema import active_caffe_proto

    done = CliRunner().invoke(cli.main, ["inspect", str(fork / "bad.prototxt"), "--caffe-proto",
                                         str(fork / "fork.proto")])
    assert done.exit_code == 2 and "gain_param" in done.output and "MEDIAN" in done.output
    done = CliRunner().invoke(cli.main, ["inspect", str(fork / "good.prototxt"), "--caffe-proto",
                                         str(fork / "fork.proto")])
    assert done.exit_code == 0, done.output
    assert active_caffe_proto() is None  # the command's schema ends with the command
