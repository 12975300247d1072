"""Caffe Pooling -> Pool, with Caffe's round-up expressed as explicit uncounted end padding."""

from __future__ import annotations

from converter.caffe import caffe_pb2
from converter.caffe.net import CaffeLayer
from converter.errors import ModelError
from converter.ir import Pool
from converter.lift.registry import converts, io


def _pair(param, name: str, default: int) -> tuple[int, int]:  # noqa: ANN001 - PoolingParameter
    if param.HasField(f"{name}_h") or param.HasField(f"{name}_w"):
        return (getattr(param, f"{name}_h"), getattr(param, f"{name}_w"))
    field = "kernel_size" if name == "kernel" else name
    return (getattr(param, field), getattr(param, field)) if param.HasField(field) else (default, default)


@converts("Pooling")
def pooling(layer: CaffeLayer) -> Pool:
    param = layer.param.pooling_param
    if param.pool == caffe_pb2.PoolingParameter.STOCHASTIC:
        raise ModelError("STOCHASTIC pooling is not supported", layer=layer.name)
    kind = "max" if param.pool == caffe_pb2.PoolingParameter.MAX else "avg"
    if param.global_pooling:
        _, _, h, w = layer.bottom_shapes[0]
        return Pool(**io(layer), kind=kind, kernel=(h, w), stride=(1, 1), global_pool=True)
    kernel, stride, pad = _pair(param, "kernel", 0), _pair(param, "stride", 1), _pair(param, "pad", 0)
    in_hw, out_hw = layer.bottom_shapes[0][2:], layer.top_shapes[0][2:]
    extra = tuple(max(0, (o - 1) * s + k - (i + 2 * p))
                  for i, o, k, s, p in zip(in_hw, out_hw, kernel, stride, pad, strict=True))
    return Pool(**io(layer), kind=kind, kernel=kernel, stride=stride, pad=pad, extra_end=extra)
