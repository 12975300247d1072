"""Caffe Convolution -> Conv; Deconvolution -> ConvTranspose."""

from __future__ import annotations

from converter.caffe.net import CaffeLayer
from converter.ir import Conv, ConvTranspose
from converter.lift.registry import converts, io


def spatial(param, name: str, default: int) -> tuple[int, int]:  # noqa: ANN001 - ConvolutionParameter
    """Caffe's kernel/pad/stride/dilation: the *_h/*_w fields, else the repeated field (1 or 2 values)."""
    if name != "dilation" and (param.HasField(f"{name}_h") or param.HasField(f"{name}_w")):
        return (getattr(param, f"{name}_h"), getattr(param, f"{name}_w"))
    values = list(getattr(param, "kernel_size" if name == "kernel" else name))
    if not values:
        return (default, default)
    return (values[0], values[-1])


def _common(layer: CaffeLayer) -> dict[str, object]:
    param = layer.param.convolution_param
    return {
        **io(layer),
        "weight": layer.blobs[0],
        "bias": layer.blobs[1] if param.bias_term else None,
        "stride": spatial(param, "stride", 1),
        "pad": spatial(param, "pad", 0),
        "dilation": spatial(param, "dilation", 1),
        "group": param.group,
    }


@converts("Convolution")
def convolution(layer: CaffeLayer) -> Conv:
    return Conv(**_common(layer))


@converts("Deconvolution")
def deconvolution(layer: CaffeLayer) -> ConvTranspose:
    return ConvTranspose(**_common(layer))
