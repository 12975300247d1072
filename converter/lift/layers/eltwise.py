"""Caffe Eltwise: SUM (with per-input coefficients), PROD, MAX; the SENet ports' Axpy."""

from converter.caffe import caffe_pb2
from converter.caffe.net import CaffeLayer
from converter.ir import Axpy, Eltwise
from converter.ir.ops import EltwiseOp
from converter.lift.registry import converts, io

_OPS: dict[int, EltwiseOp] = {caffe_pb2.EltwiseParameter.SUM: "sum", caffe_pb2.EltwiseParameter.PROD: "prod",
        caffe_pb2.EltwiseParameter.MAX: "max"}


@converts("Eltwise")
def eltwise(layer: CaffeLayer) -> Eltwise:
    p = layer.param.eltwise_param
    return Eltwise(**io(layer), op=_OPS[p.operation], coeffs=list(p.coeff))


@converts("Axpy")
def axpy(layer: CaffeLayer) -> Axpy:
    return Axpy(**io(layer))
