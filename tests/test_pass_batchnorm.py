"""BatchNorm + Scale folding: the folded convolution computes the unfolded chain's closed form."""

from __future__ import annotations

import numpy as np

from converter.ir import BatchNorm, Conv, Dense, Graph, Scale, Tensor
from converter.passes.batchnorm import fold_batchnorm


def test_conv_bn_scale_fold_to_one_conv():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 2, 1, 1)).astype(np.float32)
    b = rng.normal(size=3).astype(np.float32)
    # eps as large as var: folding without it (or adding it twice) is far outside the tolerance.
    eps = 0.5
    mean, var = rng.normal(size=3).astype(np.float32), rng.uniform(0.1, 0.5, 3).astype(np.float32)
    gamma, beta = rng.normal(size=3).astype(np.float32), rng.normal(size=3).astype(np.float32)
    nodes = [Conv(name="c", inputs=["x"], outputs=["c"], weight=w, bias=b),
             BatchNorm(name="bn", inputs=["c"], outputs=["n"], mean=mean, var=var, eps=eps),
             Scale(name="sc", inputs=["n"], outputs=["y"], gamma=gamma, beta=beta)]
    graph = Graph("g", ["x"], ["y"], nodes)
    graph.tensors = {t: Tensor(t, (1, 3, 1, 1)) for t in ("c", "n", "y")} | {"x": Tensor("x", (1, 2, 1, 1))}
    assert fold_batchnorm(graph) == 2
    (conv,) = graph.nodes
    assert conv.outputs == ["y"] and set(graph.tensors) == {"x", "y"}
    x = rng.normal(size=2)
    expected = gamma * ((w[:, :, 0, 0] @ x + b) - mean) / np.sqrt(var + eps) + beta
    folded = conv.weight[:, :, 0, 0] @ x + conv.bias
    np.testing.assert_allclose(folded, expected, rtol=1e-5, atol=1e-5)


def test_batch_statistics_are_never_folded():
    # (conv - batch mean) / batch std depends on the batch: no fixed weights can give it.
    w, b = np.ones((3, 2, 1, 1), np.float32), np.zeros(3, np.float32)
    gamma, beta = np.full(3, 2, np.float32), np.ones(3, np.float32)
    nodes = [Conv(name="c", inputs=["x"], outputs=["c"], weight=w, bias=b),
             BatchNorm(name="bn", inputs=["c"], outputs=["n"], mean=None, var=None, batch_statistics=True),
             Scale(name="sc", inputs=["n"], outputs=["y"], gamma=gamma, beta=beta)]
    graph = Graph("g", ["x"], ["y"], list(nodes))
    graph.tensors = {t: Tensor(t, (2, 3, 1, 1)) for t in ("c", "n", "y")} | {"x": Tensor("x", (2, 2, 1, 1))}
    assert fold_batchnorm(graph) == 0
    assert graph.nodes == nodes and nodes[0].weight is w


def _chain(first, tail_shape, inner_shape):
    rng = np.random.default_rng(1)
    channels = tail_shape[1]
    mean, var = rng.normal(size=channels).astype(np.float32), rng.uniform(0.1, 0.5, channels).astype(np.float32)
    gamma, beta = rng.normal(size=channels).astype(np.float32), rng.normal(size=channels).astype(np.float32)
    nodes = [first,
             BatchNorm(name="bn", inputs=["c"], outputs=["n"], mean=mean, var=var, eps=1e-3),
             Scale(name="sc", inputs=["n"], outputs=["y"], gamma=gamma, beta=beta)]
    graph = Graph("g", ["x"], ["y"], list(nodes))
    graph.tensors = {"x": Tensor("x", inner_shape), "c": Tensor("c", tail_shape, [("fc", "c")]),
                     "n": Tensor("n", tail_shape, [("bn", "c")]), "y": Tensor("y", tail_shape, [("sc", "c")])}
    return graph, (mean, var, gamma, beta)


def test_inner_product_bn_scale_fold_to_one_dense():
    rng = np.random.default_rng(2)
    w, b = rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=3).astype(np.float32)
    graph, (mean, var, gamma, beta) = _chain(Dense(name="fc", inputs=["x"], outputs=["c"], weight=w, bias=b),
                                             (2, 3), (2, 4))
    assert fold_batchnorm(graph) == 2
    (dense,) = graph.nodes
    assert dense.outputs == ["y"] and set(graph.tensors) == {"x", "y"}
    assert graph.folded == {("fc", "c"): "fc", ("bn", "c"): "fc"}
    x = rng.normal(size=4)
    expected = gamma * ((w @ x + b) - mean) / np.sqrt(var + 1e-3) + beta
    np.testing.assert_allclose(dense.weight @ x + dense.bias, expected, rtol=1e-5, atol=1e-5)


def test_a_scale_alone_folds_and_a_dense_on_another_axis_does_not():
    rng = np.random.default_rng(3)
    w = rng.normal(size=(3, 2, 1, 1)).astype(np.float32)
    gamma, beta = rng.normal(size=3).astype(np.float32), rng.normal(size=3).astype(np.float32)
    graph = Graph("g", ["x"], ["y"], [Conv(name="c", inputs=["x"], outputs=["c"], weight=w, bias=None),
                                      Scale(name="sc", inputs=["c"], outputs=["y"], gamma=gamma, beta=beta)])
    graph.tensors = {t: Tensor(t, (1, 3, 1, 1)) for t in ("c", "y")} | {"x": Tensor("x", (1, 2, 1, 1))}
    assert fold_batchnorm(graph) == 1
    x = rng.normal(size=2)
    np.testing.assert_allclose(graph.nodes[0].weight[:, :, 0, 0] @ x + graph.nodes[0].bias,
                               gamma * (w[:, :, 0, 0] @ x) + beta, rtol=1e-5, atol=1e-5)
    # Dense on axis 2: its output's dim 1 is not its output features, so a channel affine is not its rows'.
    dense = Dense(name="fc", inputs=["x"], outputs=["c"], weight=np.ones((3, 4), np.float32), bias=None, axis=2)
    graph, _ = _chain(dense, (2, 3, 3), (2, 3, 4))
    assert fold_batchnorm(graph) == 0 and len(graph.nodes) == 3


def test_a_batchnorm_dividing_by_zero_is_not_folded():
    """var + eps = 0 makes Caffe's output inf/NaN: folded weights would give finite numbers instead."""
    w, b = np.ones((3, 2, 1, 1), np.float32), np.zeros(3, np.float32)
    graph, _ = _chain(Conv(name="fc", inputs=["x"], outputs=["c"], weight=w, bias=b), (1, 3, 1, 1), (1, 2, 1, 1))
    graph.nodes[1].var[0], graph.nodes[1].eps = 0.0, 0.0
    assert fold_batchnorm(graph) == 0 and len(graph.nodes) == 3


NET = ('name: "bnnet"\ninput: "data"\ninput_shape { dim: 1 dim: 3 dim: 6 dim: 6 }\n'
       'layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" '
       "convolution_param { num_output: 4 kernel_size: 3 } }\n"
       'layer { name: "bn" type: "BatchNorm" bottom: "conv" top: "conv" batch_norm_param { use_global_stats: true } }\n'
       'layer { name: "sc" type: "Scale" bottom: "conv" top: "conv" scale_param { bias_term: true } }\n'
       'layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }\n')


def test_verification_compares_the_scale_top_with_the_folded_convolution(tmp_path):
    """The folded convolution's output is the Scale's top: each run compares it with the reference
    executor (Caffe's semantics, unfolded); the conv and BatchNorm tops exist only inside the folded
    node, and the report says so instead of dropping them silently."""
    from converter import pipeline
    from converter.caffe.synthetic import write_synthetic_weights

    proto = tmp_path / "bn.prototxt"
    proto.write_text(NET)
    write_synthetic_weights(proto, tmp_path / "bn.caffemodel")
    conversion = pipeline.convert(proto, tmp_path / "bn.caffemodel")
    assert [type(n).__name__ for n in conversion.graph.nodes] == ["Conv", "Relu"]
    pipeline.emit(conversion)
    report = pipeline.run_verification(conversion)
    assert report.passed
    rows = {(c.blob, c.backend) for c in report.comparisons}
    assert {("sc|conv", "onnxruntime"), ("sc|conv", "pytorch"), ("relu|conv", "onnxruntime")} <= rows
    conv_output = conversion.graph.nodes[0].outputs[0]
    assert all(c.tensor == conv_output for c in report.comparisons if c.blob == "sc|conv")
    assert not {blob for blob, _ in rows} & {"conv|conv", "bn|conv"}
    assert any("conv|conv, bn|conv" in note and "--no-fold" in note for note in report.notes)
