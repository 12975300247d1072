"""ArgMax (BVLC argmax_layer.cpp), which OpenCV's importer does not run: against a loop written from
Caffe's Forward_cpu (std::partial_sort of (value, index) pairs with std::greater)."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import make_layer, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError

ARGMAX = LAYER_TYPES["ArgMax"]


def caffe_loop(x: np.ndarray, top_k: int, out_max_val: bool, axis: int | None) -> np.ndarray:
    if axis is not None:
        dim, axis_dist = x.shape[axis], int(np.prod(x.shape[axis:])) // x.shape[axis]
        shape = list(x.shape)
        shape[axis] = top_k
    else:
        dim, axis_dist = int(np.prod(x.shape[1:])), 1
        shape = [1] * max(x.ndim, 3)
        shape[0], shape[1], shape[2] = x.shape[0], 2 if out_max_val else 1, top_k
    data, top = x.reshape(-1), np.zeros(int(np.prod(shape)), np.float32)
    for i in range(x.size // dim):
        pairs = [(data[(i // axis_dist * dim + j) * axis_dist + i % axis_dist], j) for j in range(dim)]
        pairs.sort(reverse=True)  # std::greater on (value, index): equal values, higher index first
        for j in range(top_k):
            if out_max_val and axis is not None:
                top[(i // axis_dist * top_k + j) * axis_dist + i % axis_dist] = pairs[j][0]
            elif out_max_val:
                top[2 * i * top_k + j] = pairs[j][1]
                top[2 * i * top_k + top_k + j] = pairs[j][0]
            else:
                top[(i // axis_dist * top_k + j) * axis_dist + i % axis_dist] = pairs[j][1]
    return top.reshape(shape)


@pytest.mark.parametrize(("top_k", "out_max_val", "axis"),
                         [(1, False, None), (3, True, None), (2, False, 1), (2, True, 1), (1, False, -1),
                          (3, True, 2)])
def test_matches_the_caffe_loop(top_k: int, out_max_val: bool, axis: int | None) -> None:
    # Few distinct values: many ties, which Caffe breaks towards the higher index.
    x = np.random.default_rng(8).integers(-2, 3, (2, 4, 3, 5)).astype(np.float32)
    params = f"top_k: {top_k} out_max_val: {str(out_max_val).lower()}" + (f" axis: {axis}" if axis is not None else "")
    (actual,) = run(make_layer(f'type: "ArgMax" top: "y" argmax_param {{ {params} }}'), x)
    expected = caffe_loop(x, top_k, out_max_val, None if axis is None else axis % 4)
    np.testing.assert_array_equal(actual, expected)


def test_two_axis_bottom_gives_a_three_axis_top() -> None:
    layer = make_layer('type: "ArgMax" top: "y" argmax_param { top_k: 2 }')
    assert ARGMAX.output_shapes(layer, [(3, 10)]) == [(3, 1, 2)]
    (y,) = run(layer, np.array([[0, 5, 5, 1]], np.float32))
    np.testing.assert_array_equal(y, [[[2, 1]]])


@pytest.mark.parametrize(("params", "shape"), [("top_k: 0", (1, 4)), ("top_k: 5", (1, 4)),
                                               ("top_k: 3 axis: 1", (2, 2, 8)), ("axis: 3", (1, 4))])
def test_rejects_impossible_top_k(params: str, shape: tuple) -> None:
    with pytest.raises(ModelError, match="am"):
        ARGMAX.output_shapes(make_layer(f'name: "am" type: "ArgMax" top: "y" argmax_param {{ {params} }}'), [shape])
