"""Legacy net definitions upgraded to the current format, as Caffe does on load.

V1 nets list `layers { type: CONVOLUTION ... }` with an enum type; their parameter messages are
the same as the current ones, so upgrading is renaming the type and copying fields across.
"""

from __future__ import annotations

from converter.caffe import caffe_pb2
from converter.errors import ModelError

V1_TYPE_NAMES = {
    "ABSVAL": "AbsVal", "ACCURACY": "Accuracy", "ARGMAX": "ArgMax", "BNLL": "BNLL", "CONCAT": "Concat",
    "CONTRASTIVE_LOSS": "ContrastiveLoss", "CONVOLUTION": "Convolution", "DATA": "Data",
    "DECONVOLUTION": "Deconvolution", "DROPOUT": "Dropout", "DUMMY_DATA": "DummyData",
    "EUCLIDEAN_LOSS": "EuclideanLoss", "ELTWISE": "Eltwise", "EXP": "Exp", "FLATTEN": "Flatten",
    "HDF5_DATA": "HDF5Data", "HDF5_OUTPUT": "HDF5Output", "HINGE_LOSS": "HingeLoss", "IM2COL": "Im2col",
    "IMAGE_DATA": "ImageData", "INFOGAIN_LOSS": "InfogainLoss", "INNER_PRODUCT": "InnerProduct",
    "LRN": "LRN", "MEMORY_DATA": "MemoryData", "MULTINOMIAL_LOGISTIC_LOSS": "MultinomialLogisticLoss",
    "MVN": "MVN", "POOLING": "Pooling", "POWER": "Power", "RELU": "ReLU", "SIGMOID": "Sigmoid",
    "SIGMOID_CROSS_ENTROPY_LOSS": "SigmoidCrossEntropyLoss", "SILENCE": "Silence", "SOFTMAX": "Softmax",
    "SOFTMAX_LOSS": "SoftmaxWithLoss", "SPLIT": "Split", "SLICE": "Slice", "TANH": "TanH",
    "WINDOW_DATA": "WindowData", "THRESHOLD": "Threshold",
    # DeepLab v1 (its layers' registered type names)
    "IMAGE_SEG_DATA": "ImageSegData", "SEG_ACCURACY": "SegAccuracy", "INTERP": "Interp", "PADDING": "Padding",
    "MAT_WRITE": "MatWrite", "MAT_READ": "MatRead", "DENSE_CRF": "DenseCRF", "DOMINANT_CHANNEL": "DominantChannel",
    "BIAS_CHANNEL": "BiasChannel", "UNIQUE_LABEL": "UniqueLabel", "CENSOR_LABEL": "CensorLabel",
    "ADAPTIVE_BIAS_CHANNEL": "AdaptiveBiasChannel", "CHANNEL_AGGREGATOR": "ChannelAggregator",
    "IGNORE_OVERLAY": "IgnoreOverlay", "HISTOGRAM": "Histogram", "RELATIVE_ERROR": "RelativeError",
    "GAIN_CHANNEL": "GainChannel", "ONEHOT": "OneHot",
}

_REPEATED_FIELDS = ("bottom", "top", "loss_weight", "include", "exclude", "blobs")


def upgrade_v1_layer(v1: caffe_pb2.V1LayerParameter) -> caffe_pb2.LayerParameter:
    if v1.HasField("layer"):
        raise ModelError("V0 layer definitions (pre-2014 Caffe) are not supported", layer=v1.layer.name)
    layer = caffe_pb2.LayerParameter()
    layer.name = v1.name
    for field in _REPEATED_FIELDS:
        getattr(layer, field).extend(getattr(v1, field))
    enum_name = caffe_pb2.V1LayerParameter.LayerType.Name(v1.type)
    layer.type = V1_TYPE_NAMES.get(enum_name, enum_name)
    for descriptor, value in v1.ListFields():
        if descriptor.name.endswith("_param") and descriptor.name in layer.DESCRIPTOR.fields_by_name:
            getattr(layer, descriptor.name).CopyFrom(value)
    if layer.HasField("convolution_param"):
        _hole_to_dilation(layer.convolution_param, layer.name)
    return layer


def _hole_to_dilation(conv: caffe_pb2.ConvolutionParameter, layer: str) -> None:
    """DeepLab v1's `hole` (its im2col's filter stride) is what BVLC later named dilation.

    DeepLab's ConvolutionLayer takes `hole`, or `hole_h` and `hole_w` together; not a mix.
    """
    has = {name: conv.HasField(name) for name in ("hole", "hole_h", "hole_w")}
    if not any(has.values()):
        return
    if not (has["hole_h"] == has["hole_w"] and not (has["hole"] and has["hole_h"])):
        raise ModelError("give DeepLab's hole, or hole_h and hole_w (as DeepLab's ConvolutionLayer requires)",
                         layer=layer)
    if conv.dilation:
        raise ModelError("convolution_param gives both DeepLab's hole and dilation", layer=layer)
    holes = [conv.hole_h, conv.hole_w] if has["hole_h"] else [conv.hole]
    conv.dilation.extend(holes if len(set(holes)) > 1 else holes[:1])
    for name in ("hole", "hole_h", "hole_w"):
        conv.ClearField(name)


def upgrade_net(net: caffe_pb2.NetParameter) -> caffe_pb2.NetParameter:
    """The net with V1 `layers` turned into current `layer` entries, and DeepLab's `hole` into
    dilation (a copy; the input is untouched)."""
    if not net.layers:
        if not any(layer.convolution_param.HasField(hole) for layer in net.layer
                   for hole in ("hole", "hole_h", "hole_w")):
            return net
        upgraded = caffe_pb2.NetParameter()
        upgraded.CopyFrom(net)
        for layer in upgraded.layer:
            if layer.HasField("convolution_param"):
                _hole_to_dilation(layer.convolution_param, layer.name)
        return upgraded
    if net.layer:
        raise ModelError("the net mixes current `layer` and legacy V1 `layers` definitions")
    upgraded = caffe_pb2.NetParameter()
    upgraded.CopyFrom(net)
    del upgraded.layers[:]
    upgraded.layer.extend(upgrade_v1_layer(v1) for v1 in net.layers)
    return upgraded
