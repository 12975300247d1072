"""In-place resolution gives every value its own tensor and keeps Caffe provenance."""

from __future__ import annotations

import numpy as np

from converter.ir import Conv, Graph, Identity, Relu
from converter.passes.identity import remove_identities
from converter.passes.inplace import resolve_in_place


def test_in_place_chain_becomes_ssa():
    conv = Conv(name="conv1", inputs=["data"], outputs=["conv1"], weight=np.zeros((2, 1, 1, 1), np.float32),
                bias=None)
    relu = Relu(name="relu1", inputs=["conv1"], outputs=["conv1"])
    drop = Identity(name="drop", inputs=["conv1"], outputs=["conv1"])
    graph = Graph("g", ["data"], ["conv1"], [conv, relu, drop])
    shape = (1, 2, 3, 3)
    resolve_in_place(graph, {"data": (1, 1, 3, 3)},
                     {("conv1", "conv1"): shape, ("relu1", "conv1"): shape, ("drop", "conv1"): shape})
    assert conv.outputs == ["conv1@conv1"] and relu.inputs == ["conv1@conv1"]
    assert relu.outputs == ["conv1@relu1"] and drop.outputs == ["conv1"]
    assert graph.outputs == ["conv1"]
    remove_identities(graph)
    assert graph.nodes == [conv, relu]
    assert graph.outputs == ["conv1"] and relu.outputs == ["conv1"]
    assert graph.tensors["conv1"].sources == [("relu1", "conv1"), ("drop", "conv1")]
    assert graph.tensors["conv1@conv1"].sources == [("conv1", "conv1")]


def test_in_place_dropout_leaves_the_value_under_its_blob_name():
    """conv -> relu (in place) -> dropout (in place) -> pool: the value pool reads is blob 'c' to
    Caffe, so after the Dropout vanishes its tensor is called 'c', not 'c@relu'."""
    from converter.ir import Pool

    conv = Conv(name="conv", inputs=["data"], outputs=["c"], weight=np.zeros((2, 1, 1, 1), np.float32), bias=None)
    relu = Relu(name="relu", inputs=["c"], outputs=["c"])
    drop = Identity(name="drop", inputs=["c"], outputs=["c"])
    pool = Pool(name="pool", inputs=["c"], outputs=["p"], kind="max", kernel=(1, 1), stride=(1, 1))
    graph = Graph("g", ["data"], ["p"], [conv, relu, drop, pool])
    shape = (1, 2, 3, 3)
    resolve_in_place(graph, {"data": (1, 1, 3, 3)}, {("conv", "c"): shape, ("relu", "c"): shape,
                                                      ("drop", "c"): shape, ("pool", "p"): shape})
    remove_identities(graph)
    assert relu.outputs == ["c"] and pool.inputs == ["c"]
    assert graph.tensors["c"].sources == [("relu", "c"), ("drop", "c")]
    assert set(graph.tensors) == {"data", "c@conv", "c", "p"}
