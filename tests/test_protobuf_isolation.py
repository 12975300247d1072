"""No global protobuf state: the converter's schema lives in a private descriptor pool, so a stock
pycaffe's caffe_pb2 (package caffe, file caffe.proto, protobuf's default pool) imports beside it,
before or after, with both protobuf backends (upb and the pure-Python one)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from fakes.pycaffe import make_caffe_package

# Run in a fresh interpreter: which module registers first in the default pool is the point.
SCRIPT = r'''
import sys
from google.protobuf import descriptor_pool, text_format
from google.protobuf.internal import api_implementation

order, prototxt, weights = sys.argv[1:4]


def stock_net():
    import caffe.caffe_pb2 as stock
    return stock, text_format.Parse('name: "n" layer { name: "c" type: "Convolution" '
                                    'convolution_param { num_output: 2 kernel_size: 3 } }', stock.NetParameter())


def convert():  # read the net and its weights, lift it to the IR (ONNX's import is kept out: slow)
    from converter.caffe.loader import load_net
    from converter.lift import lift
    net = load_net(prototxt, weights)
    return net, lift(net)


if order == "stock-first":
    stock, net = stock_net()
    caffe_net, graph = convert()
else:
    caffe_net, graph = convert()
    stock, net = stock_net()

from converter.caffe import caffe_pb2 as ours

assert descriptor_pool.Default().FindFileByName("caffe.proto") is stock.DESCRIPTOR
assert ours.DESCRIPTOR.pool is not descriptor_pool.Default()
# Both schemas work side by side: the stock message's bytes read back by the converter's class.
again = ours.NetParameter.FromString(net.SerializeToString())
assert again.layer[0].convolution_param.num_output == 2
assert [node.name for node in graph.nodes] == ["conv", "relu"], graph.nodes
print(api_implementation.Type(), order, caffe_net.layers[0].blobs[0].shape[0])
'''


@pytest.fixture(scope="module")
def stock_pycaffe(tmp_path_factory) -> Path:
    return make_caffe_package(tmp_path_factory.mktemp("stock-pycaffe"))


def test_stock_caffe_pb2_and_the_converter_share_a_process(stock_pycaffe, tmp_path):
    from converter.caffe.synthetic import write_synthetic_weights

    prototxt = tmp_path / "tiny.prototxt"
    prototxt.write_text('input: "data" input_shape { dim: 1 dim: 1 dim: 5 dim: 5 }\n'
                        'layer { name: "conv" type: "Convolution" bottom: "data" top: "c" '
                        'convolution_param { num_output: 2 kernel_size: 3 } }\n'
                        'layer { name: "relu" type: "ReLU" bottom: "c" top: "c" }\n')
    weights = tmp_path / "tiny.caffemodel"
    write_synthetic_weights(prototxt, weights)
    runs = {}
    for backend in ("upb", "python"):
        for order in ("stock-first", "converter-first"):
            env = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": backend,
                   "PYTHONPATH": os.pathsep.join([str(stock_pycaffe), str(ROOT)])}
            runs[backend, order] = subprocess.Popen(
                [sys.executable, "-c", SCRIPT, order, str(prototxt), str(weights)], env=env, cwd=tmp_path,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for (backend, order), run in runs.items():
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, f"{backend}, {order}:\n{err}"
        assert out.split() == [backend, order, "2"], out
