"""protos/caffe.proto against BVLC Caffe: bindings in sync, real files parse, field numbers are BVLC's."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import pytest
from google.protobuf import text_format

from conftest import GOLDEN, ROOT, SHARED
from converter.caffe import caffe_pb2

REFERENCE_MODELS = SHARED / "reference_models"


def _files(folder: Path, pattern: str) -> list:
    found = sorted(folder.glob(pattern)) if folder.is_dir() else []
    if not found:
        pytest.fail(f"no {pattern} under {folder}: the tests need ../shared beside the repo", pytrace=False)
    return [pytest.param(path, id=str(path.relative_to(SHARED))) for path in found]


# ---------------------------------------------------------------------------
# (a) the committed bindings are what protoc makes of the .proto
# ---------------------------------------------------------------------------


def test_bindings_in_sync_with_proto():
    import grpc_tools.protoc  # noqa: F401 - a pinned test dependency: missing, this fails
    spec = importlib.util.spec_from_file_location("_caffe_proto_generate", ROOT / "protos" / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    problems = generate.check()
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------
# (b) every reference prototxt is a valid text NetParameter
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", _files(REFERENCE_MODELS, "**/*.prototxt"))
def test_reference_prototxt_parses(path: Path):
    net = caffe_pb2.NetParameter()
    text_format.Merge(path.read_text(encoding="utf-8"), net)
    assert len(net.layer) + len(net.layers) > 0, f"{path} has no layers"


# ---------------------------------------------------------------------------
# (c) every golden caffemodel parses, loses nothing and has no unknown fields
# ---------------------------------------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _wire_fields(buf: bytes) -> list[tuple[int, int, bytes, bytes | None]]:
    """(field number, wire type, whole encoded field, payload of a LEN field) in file order."""
    fields, pos = [], 0
    while pos < len(buf):
        start = pos
        key, pos = _varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        payload = None
        if wire_type == 0:
            _, pos = _varint(buf, pos)
        elif wire_type == 1:
            pos += 8
        elif wire_type == 5:
            pos += 4
        elif wire_type == 2:
            length, pos = _varint(buf, pos)
            payload = buf[pos : pos + length]
            pos += length
        else:
            raise AssertionError(f"unexpected wire type {wire_type} at byte {start}")
        fields.append((number, wire_type, buf[start:pos], payload))
    return fields


def _in_field_number_order(buf: bytes, descriptor, out_of_order: set[str]) -> bytes:
    """buf re-encoded with every message's fields in field-number order, the order protobuf writes.

    Repeated fields keep their relative order and every value keeps its encoding (packed stays packed),
    so this only undoes a writer that emitted fields in another order.
    """
    fields = _wire_fields(buf)
    numbers = [number for number, *_ in fields]
    if numbers != sorted(numbers):
        out_of_order.add(descriptor.full_name)
    parts = []
    for number, wire_type, whole, payload in sorted(fields, key=lambda field: field[0]):
        field = descriptor.fields_by_number.get(number)
        if field is not None and field.message_type is not None and wire_type == 2:
            inner = _in_field_number_order(payload, field.message_type, out_of_order)
            parts.append(_encode_varint(number << 3 | 2) + _encode_varint(len(inner)) + inner)
        else:
            parts.append(whole)
    return b"".join(parts)


def _unknown_field_paths(message, path: str = "NetParameter") -> list[str]:
    from google.protobuf import unknown_fields

    found = []
    unknown = unknown_fields.UnknownFieldSet(message)
    if len(unknown):
        found.append(f"{path}: field numbers {sorted({field.field_number for field in unknown})}")
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.is_repeated:
            for index, item in enumerate(value):
                found.extend(_unknown_field_paths(item, f"{path}.{field.name}[{index}]"))
        else:
            found.extend(_unknown_field_paths(value, f"{path}.{field.name}"))
    return found


@pytest.mark.parametrize("path", _files(GOLDEN, "*/weights.caffemodel"))
def test_golden_caffemodel_round_trips(path: Path):
    original = path.read_bytes()
    net = caffe_pb2.NetParameter()
    net.ParseFromString(original)
    assert len(net.layer) + len(net.layers) > 0

    # No unknown fields anywhere: dropping them must not change the encoded size...
    stripped = caffe_pb2.NetParameter()
    stripped.CopyFrom(net)
    stripped.DiscardUnknownFields()
    assert stripped.ByteSize() == len(original), "caffemodel holds fields caffe.proto does not declare"
    # ...and, where the runtime can list them, none is reported on any sub-message.
    if importlib.util.find_spec("google.protobuf.unknown_fields") is not None:
        assert _unknown_field_paths(net) == []

    # Re-serialising gives back the file's bytes. protobuf always writes a message's fields in
    # field-number order; Caffe's own writer does too, but some files were written by other tools
    # (BlobProto with `shape` (7) before `data` (5)), so compare after putting the original in that
    # order. Everything else (values, packing, repeated order, lengths) must be identical.
    out_of_order: set[str] = set()
    canonical = _in_field_number_order(original, caffe_pb2.NetParameter.DESCRIPTOR, out_of_order)
    reserialized = net.SerializeToString()
    assert len(reserialized) == len(original)
    assert reserialized == canonical
    if not out_of_order:
        assert reserialized == original


# ---------------------------------------------------------------------------
# (d) spot checks of BVLC facts (numbers, packing, enums, defaults)
# ---------------------------------------------------------------------------

BVLC_LAYER_PARAM_NUMBERS = {
    "name": 1, "type": 2, "bottom": 3, "top": 4, "loss_weight": 5, "param": 6, "blobs": 7, "include": 8,
    "exclude": 9, "phase": 10, "propagate_down": 11, "transform_param": 100, "loss_param": 101,
    "accuracy_param": 102, "argmax_param": 103, "batch_norm_param": 139, "bias_param": 141, "clip_param": 148,
    "concat_param": 104, "contrastive_loss_param": 105, "convolution_param": 106, "crop_param": 144,
    "data_param": 107, "dropout_param": 108, "dummy_data_param": 109, "eltwise_param": 110, "elu_param": 140,
    "embed_param": 137, "exp_param": 111, "flatten_param": 135, "hdf5_data_param": 112,
    "hdf5_output_param": 113, "hinge_loss_param": 114, "image_data_param": 115, "infogain_loss_param": 116,
    "inner_product_param": 117, "input_param": 143, "log_param": 134, "lrn_param": 118,
    "memory_data_param": 119, "mvn_param": 120, "parameter_param": 145, "pooling_param": 121,
    "power_param": 122, "prelu_param": 131, "python_param": 130, "recurrent_param": 146,
    "reduction_param": 136, "relu_param": 123, "reshape_param": 133, "scale_param": 142,
    "sigmoid_param": 124, "softmax_param": 125, "spp_param": 132, "slice_param": 126, "swish_param": 147,
    "tanh_param": 127, "threshold_param": 128, "tile_param": 138, "window_data_param": 129,
}  # fmt: skip

BVLC_V1_LAYER_TYPES = {
    "NONE": 0, "ABSVAL": 35, "ACCURACY": 1, "ARGMAX": 30, "BNLL": 2, "CONCAT": 3, "CONTRASTIVE_LOSS": 37,
    "CONVOLUTION": 4, "DATA": 5, "DECONVOLUTION": 39, "DROPOUT": 6, "DUMMY_DATA": 32, "EUCLIDEAN_LOSS": 7,
    "ELTWISE": 25, "EXP": 38, "FLATTEN": 8, "HDF5_DATA": 9, "HDF5_OUTPUT": 10, "HINGE_LOSS": 28,
    "IM2COL": 11, "IMAGE_DATA": 12, "INFOGAIN_LOSS": 13, "INNER_PRODUCT": 14, "LRN": 15, "MEMORY_DATA": 29,
    "MULTINOMIAL_LOGISTIC_LOSS": 16, "MVN": 34, "POOLING": 17, "POWER": 26, "RELU": 18, "SIGMOID": 19,
    "SIGMOID_CROSS_ENTROPY_LOSS": 27, "SILENCE": 36, "SOFTMAX": 20, "SOFTMAX_LOSS": 21, "SPLIT": 22,
    "SLICE": 33, "TANH": 23, "WINDOW_DATA": 24, "THRESHOLD": 31,
}  # fmt: skip


def _field(message: str, name: str):
    return getattr(caffe_pb2, message).DESCRIPTOR.fields_by_name[name]


def test_layer_parameter_has_every_bvlc_field_at_bvlcs_number():
    fields = {field.name: field.number for field in caffe_pb2.LayerParameter.DESCRIPTOR.fields}
    assert {name: fields.get(name) for name in BVLC_LAYER_PARAM_NUMBERS} == BVLC_LAYER_PARAM_NUMBERS


def test_v1_layer_type_enum_has_bvlcs_values():
    values = {value.name: value.number for value in caffe_pb2.V1LayerParameter.LayerType.DESCRIPTOR.values}
    assert {name: values.get(name) for name in BVLC_V1_LAYER_TYPES} == BVLC_V1_LAYER_TYPES


@pytest.mark.parametrize(
    ("message", "name", "number"),
    [
        ("NetParameter", "name", 1),
        ("NetParameter", "layers", 2),
        ("NetParameter", "input", 3),
        ("NetParameter", "input_dim", 4),
        ("NetParameter", "state", 6),
        ("NetParameter", "input_shape", 8),
        ("NetParameter", "layer", 100),
        ("BlobProto", "num", 1),
        ("BlobProto", "width", 4),
        ("BlobProto", "data", 5),
        ("BlobProto", "shape", 7),
        ("BlobProto", "double_data", 8),
        ("ParamSpec", "lr_mult", 3),
        ("ConvolutionParameter", "group", 5),
        ("ConvolutionParameter", "stride", 6),
        ("ConvolutionParameter", "dilation", 18),
        ("PoolingParameter", "pad", 4),
        ("PoolingParameter", "global_pooling", 12),
        ("PoolingParameter", "round_mode", 13),
        ("V1LayerParameter", "layer", 1),
        ("V1LayerParameter", "type", 5),
        ("V1LayerParameter", "blobs", 6),
        ("V1LayerParameter", "blobs_lr", 7),
        ("V1LayerParameter", "convolution_param", 10),
        ("V1LayerParameter", "pooling_param", 19),
        ("V1LayerParameter", "include", 32),
        ("V1LayerParameter", "loss_weight", 35),
        ("V1LayerParameter", "param", 1001),
        ("V1LayerParameter", "blob_share_mode", 1002),
        ("V0LayerParameter", "kernelsize", 8),
        ("V0LayerParameter", "k", 22),
        ("V0LayerParameter", "blobs", 50),
        ("V0LayerParameter", "hdf5_output_param", 1001),
    ],
)
def test_field_number(message: str, name: str, number: int):
    assert _field(message, name).number == number


def test_packed_fields_are_exactly_bvlcs():
    packed = {
        (message.name, field.name)
        for message in caffe_pb2.DESCRIPTOR.message_types_by_name.values()
        for field in message.fields
        if field.is_packed
    }
    expected = {("BlobShape", "dim")} | {("BlobProto", name) for name in ("data", "diff", "double_data", "double_diff")}
    assert packed == expected


def test_blob_data_is_written_packed():
    blob = caffe_pb2.BlobProto(data=[1.0, 2.0])
    assert blob.SerializeToString() == b"\x2a\x08" + struct.pack("<2f", 1.0, 2.0)


def test_message_types():
    assert _field("V1LayerParameter", "layer").message_type is caffe_pb2.V0LayerParameter.DESCRIPTOR
    assert _field("NetParameter", "layers").message_type is caffe_pb2.V1LayerParameter.DESCRIPTOR
    assert _field("BlobShape", "dim").type == _field("BlobShape", "dim").TYPE_INT64
    assert _field("BlobProto", "num").type == _field("BlobProto", "num").TYPE_INT32


def test_defaults_and_enums():
    assert caffe_pb2.TEST == 1 and caffe_pb2.TRAIN == 0
    assert caffe_pb2.NetState().phase == caffe_pb2.TEST
    pooling = caffe_pb2.PoolingParameter()
    assert (pooling.pool, pooling.stride, pooling.pad) == (caffe_pb2.PoolingParameter.MAX, 1, 0)
    assert pooling.round_mode == caffe_pb2.PoolingParameter.CEIL
    assert caffe_pb2.PoolingParameter.AVE == 1
    lrn = caffe_pb2.LRNParameter()
    assert (lrn.local_size, lrn.alpha, lrn.beta, lrn.k) == (5, 1.0, 0.75, 1.0)
    assert caffe_pb2.LRNParameter.WITHIN_CHANNEL == 1
    assert caffe_pb2.ConvolutionParameter().bias_term is True
    assert caffe_pb2.ConvolutionParameter().group == 1
    assert caffe_pb2.BatchNormParameter().eps == pytest.approx(1e-5)
    assert caffe_pb2.EltwiseParameter().operation == caffe_pb2.EltwiseParameter.SUM
    assert caffe_pb2.EltwiseParameter.PROD == 0
    assert caffe_pb2.ScaleParameter().bias_term is False
    assert caffe_pb2.InnerProductParameter().axis == 1
    assert caffe_pb2.FillerParameter().type == "constant"
    assert caffe_pb2.ConvolutionParameter.CUDNN == 2


# ---------------------------------------------------------------------------
# (e) the forks: their fields read by name, at their own numbers unless BVLC's clash
# ---------------------------------------------------------------------------

# LayerParameter fields as each fork's own src/caffe/proto/caffe.proto numbers them (read from the
# public sources: weiliu89/caffe branch ssd; alexgkendall/caffe-segnet; TimoSaemann/caffe-enet;
# hszhao/PSPNet; rbgirshick/caffe-fast-rcnn branch faster-rcnn; farmingyard/ShuffleNet README;
# ChenYingpeng/caffe-yolov3; chuanqi305's MobileNet-SSD fork; ../shared/golden/README.md).
FORK_LAYER_PARAM_NUMBERS = {
    # SSD
    "annotated_data_param": [200], "multibox_loss_param": [201], "permute_param": [202],
    "prior_box_param": [203], "detection_output_param": [204], "detection_evaluate_param": [205],
    "norm_param": [206], "video_data_param": [207],
    "relu6_param": [208],                    # chuanqi305
    "bn_param": [45, 152],                   # SegNet and ENet 45, PSPNet 152
    "dense_image_data_param": [46, 138],     # ENet 46, SegNet 138 (BVLC tile_param)
    "upsample_param": [149, 137, 147],       # YOLOv3 ports 149, SegNet 137 (BVLC embed), ENet 147 (BVLC swish)
    "shuffle_channel_param": [164],
    "roi_pooling_param": [8266711], "smooth_l1_loss_param": [8266712],
    "interp_param": [143],                   # PSPNet / DeepLab v2: BVLC input_param
    "mat_read_param": [151], "mat_write_param": [145], "seg_accuracy_param": [144],  # DeepLab v2
    "ctc_loss_param": [200], "continuation_indicator_param": [201],  # crnn.caffe: SSD's numbers
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FORK_LAYER_PARAM_NUMBERS))
def test_fork_layer_field_keeps_its_forks_number_unless_that_clashes(name: str):
    numbers = FORK_LAYER_PARAM_NUMBERS[name]
    # A number goes to BVLC first, then to the fork field listed first (SSD before crnn.caffe).
    earlier = list(FORK_LAYER_PARAM_NUMBERS)[: list(FORK_LAYER_PARAM_NUMBERS).index(name)]
    taken = set(BVLC_LAYER_PARAM_NUMBERS.values()) | {FORK_LAYER_PARAM_NUMBERS[other][0] for other in earlier}
    superset = _field("LayerParameter", name).number
    free = [number for number in numbers if number not in taken]
    if free:
        assert superset == free[0], f"{name}: the fork's own number {free[0]} is free, yet the superset uses {superset}"
    else:
        assert superset == numbers[0] + 10000, f"{name}: every fork number clashes; the rule is fork number + 10000"
    assert superset not in BVLC_LAYER_PARAM_NUMBERS.values()


def test_clashing_numbers_inside_messages_move_by_10000():
    assert _field("PoolingParameter", "round_mode").number == 13  # BVLC master
    assert _field("PoolingParameter", "ceil_mode").number == 10013  # PR 3057's 13
    assert _field("BNParameter", "bn_mode").number == 3  # SegNet
    assert _field("BNParameter", "momentum").number == 10003  # PSPNet's 3
    assert _field("ConvolutionParameter", "hole").number == 10017  # DeepLab v1's 17 is BVLC force_nd_im2col
    assert _field("LossParameter", "weight_by_label_freqs").number == 10003  # SegNet's 3 is BVLC normalization
    assert _field("DetectionOutputParameter", "objectness_score").number == 24  # RefineDet
    values = caffe_pb2.V1LayerParameter.LayerType
    assert (values.Value("IMAGE_SEG_DATA"), values.Value("INTERP")) == (10039, 41)  # DeepLab v1: 39, 41


FORK_PROTOTXT = """
layer { name: "data" type: "AnnotatedData" top: "data"
  transform_param { resize_param { resize_mode: WARP height: 300 interp_mode: LINEAR } crop_h: 3
                    distort_param { brightness_prob: 0.5 } expand_param { max_expand_ratio: 4 }
                    emit_constraint { emit_type: CENTER } noise_param { prob: 0.1 } }
  annotated_data_param { batch_sampler { sampler { min_scale: 0.3 } max_trials: 50 } label_map_file: "m" } }
layer { name: "p" type: "Permute" bottom: "x" top: "p" permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "pb" type: "PriorBox" bottom: "x" bottom: "data" top: "pb"
  prior_box_param { min_size: 30 max_size: 60 aspect_ratio: 2 flip: true clip: false variance: 0.1
                    variance: 0.2 img_size: 300 step: 8 offset: 0.5 img_h: 1 img_w: 2 step_h: 3 step_w: 4 } }
layer { name: "n" type: "Normalize" bottom: "x" top: "n"
  norm_param { across_spatial: false channel_shared: false eps: 1e-6 scale_filler { type: "constant" value: 20 } } }
layer { name: "det" type: "DetectionOutput" bottom: "a" top: "det"
  detection_output_param { num_classes: 21 share_location: true background_label_id: 0
    nms_param { nms_threshold: 0.45 top_k: 400 eta: 1 } code_type: CENTER_SIZE keep_top_k: 200
    confidence_threshold: 0.01 variance_encoded_in_target: false objectness_score: 0.01
    save_output_param { output_directory: "o" label_map_file: "l" resize_param { height: 1 } } } }
layer { name: "loss" type: "MultiBoxLoss" bottom: "a" top: "loss"
  multibox_loss_param { loc_loss_type: SMOOTH_L1 conf_loss_type: SOFTMAX match_type: PER_PREDICTION
                        mining_type: MAX_NEGATIVE neg_pos_ratio: 3 code_type: CORNER_SIZE objectness_score: 0.01 } }
layer { name: "ev" type: "DetectionEvaluate" bottom: "a" top: "ev"
  detection_evaluate_param { num_classes: 21 name_size_file: "s" } }
layer { name: "v" type: "VideoData" top: "v" video_data_param { video_type: WEBCAM device_id: 0 } }
layer { name: "r6" type: "ReLU6" bottom: "x" top: "x" relu6_param { negative_slope: 0 } }
layer { name: "bn" type: "BN" bottom: "x" top: "x"
  bn_param { scale_filler { type: "constant" value: 1 } shift_filler { value: 0.001 } bn_mode: INFERENCE
             slope_filler { value: 1 } bias_filler { value: 0 } momentum: 0.95 eps: 1e-5 frozen: true engine: CAFFE } }
layer { name: "up" type: "Upsample" bottom: "x" bottom: "mask" top: "up"
  upsample_param { scale: 2 scale_h: 2 scale_w: 2 pad_out_h: true pad_out_w: false upsample_h: 30 upsample_w: 40 } }
layer { name: "dd" type: "DenseImageData" top: "dd"
  dense_image_data_param { source: "s" batch_size: 1 crop_width: 10 crop_height: 10 label_divide_factor: 2 } }
layer { name: "sc" type: "ShuffleChannel" bottom: "x" top: "sc" shuffle_channel_param { group: 3 } }
layer { name: "roi" type: "ROIPooling" bottom: "x" bottom: "rois" top: "roi"
  roi_pooling_param { pooled_h: 6 pooled_w: 6 spatial_scale: 0.0625 } }
layer { name: "sl1" type: "SmoothL1Loss" bottom: "a" top: "sl1" smooth_l1_loss_param { sigma: 3 } }
layer { name: "interp" type: "Interp" bottom: "x" top: "i"
  interp_param { height: 10 width: 12 zoom_factor: 2 shrink_factor: 1 pad_beg: 0 pad_end: -1 } }
layer { name: "mr" type: "MatRead" top: "mr" mat_read_param { prefix: "p" batch_size: 1 } }
layer { name: "mw" type: "MatWrite" bottom: "x" mat_write_param { prefix: "p" source: "s" strip: 0 period: 1 } }
layer { name: "sa" type: "SegAccuracy" bottom: "x" top: "sa"
  seg_accuracy_param { metric: PixelIOU ignore_label: 255 reset: true } }
layer { name: "pool" type: "Pooling" bottom: "x" top: "pool"
  pooling_param { pool: MAX kernel_size: 3 stride: 2 ceil_mode: false } }
layer { name: "bvlcbn" type: "BatchNorm" bottom: "x" top: "x"
  batch_norm_param { update_global_stats: false } }
layer { name: "drop" type: "Dropout" bottom: "x" top: "x"
  dropout_param { scale_train: false sample_weights_test: true } }
layer { name: "img" type: "ImageData" top: "img" transform_param { scale_factors: 0.5 crop_width: 3 crop_height: 3 }
  image_data_param { ignore_label: 255 label_type: PIXEL label_divide_factor: 2 has_label: false max_labels: 3 } }
layer { name: "sm" type: "SoftmaxWithLoss" bottom: "x" loss_param { weight_by_label_freqs: true class_weighting: 0.5 } }
layer { name: "ctc" type: "CtcLoss" bottom: "x" ctc_loss_param { alphabet_size: 37 time_step: 24 blank_label: 0 } }
layer { name: "ci" type: "ContinuationIndicator" top: "c" continuation_indicator_param { time_step: 24 batch_size: 1 } }
layer { name: "hole" type: "Convolution" bottom: "x" top: "h"
  convolution_param { num_output: 1 kernel_size: 3 hole: 2 } }
"""


def test_every_fork_field_reads_by_name():
    net = text_format.Parse(FORK_PROTOTXT, caffe_pb2.NetParameter())
    layers = {layer.name: layer for layer in net.layer}
    assert list(layers["p"].permute_param.order) == [0, 2, 3, 1]
    prior = layers["pb"].prior_box_param
    assert (list(prior.min_size), list(prior.max_size), list(prior.variance), prior.offset) == (
        [30.0], [60.0], pytest.approx([0.1, 0.2]), 0.5)
    det = layers["det"].detection_output_param
    assert (det.num_classes, det.nms_param.top_k, det.keep_top_k) == (21, 400, 200)
    assert det.code_type == caffe_pb2.PriorBoxParameter.CENTER_SIZE == 2
    assert layers["n"].norm_param.scale_filler.value == 20 and not layers["n"].norm_param.channel_shared
    assert layers["bn"].bn_param.bn_mode == caffe_pb2.BNParameter.INFERENCE
    assert layers["bn"].bn_param.momentum == pytest.approx(0.95) and layers["bn"].bn_param.frozen
    assert (layers["up"].upsample_param.upsample_h, layers["up"].upsample_param.upsample_w) == (30, 40)
    assert layers["sc"].shuffle_channel_param.group == 3
    assert layers["roi"].roi_pooling_param.spatial_scale == pytest.approx(0.0625)
    assert layers["interp"].interp_param.pad_end == -1
    pooling = layers["pool"].pooling_param
    assert (pooling.ceil_mode, pooling.round_mode) == (False, caffe_pb2.PoolingParameter.CEIL)
    assert layers["hole"].convolution_param.hole == 2
    assert layers["r6"].HasField("relu6_param")
    assert layers["sm"].loss_param.weight_by_label_freqs
    assert layers["ctc"].ctc_loss_param.alphabet_size == 37
    # Everything round-trips through the binary form of the superset.
    assert caffe_pb2.NetParameter.FromString(net.SerializeToString()) == net


def test_fork_defaults():
    assert caffe_pb2.PoolingParameter().ceil_mode is True
    assert caffe_pb2.PriorBoxParameter().flip is True and caffe_pb2.PriorBoxParameter().clip is False
    assert caffe_pb2.DetectionOutputParameter().keep_top_k == -1
    assert caffe_pb2.DetectionOutputParameter().code_type == caffe_pb2.PriorBoxParameter.CORNER
    assert caffe_pb2.NonMaximumSuppressionParameter().nms_threshold == pytest.approx(0.3)
    assert caffe_pb2.NormalizeParameter().across_spatial is True
    assert caffe_pb2.NormalizeParameter().eps == pytest.approx(1e-10)
    assert caffe_pb2.UpsampleParameter().scale == 2
    assert caffe_pb2.InterpParameter().zoom_factor == 1
    assert caffe_pb2.ShuffleChannelParameter().group == 1
    assert caffe_pb2.ROIPoolingParameter().spatial_scale == 1
    assert caffe_pb2.ConvolutionParameter().hole == 1


# ---------------------------------------------------------------------------
# (f) binary files: a fork's clashing number is never read as BVLC's field
# ---------------------------------------------------------------------------


def _key(number: int, wire_type: int) -> bytes:
    return _encode_varint(number << 3 | wire_type)


def _len_field(number: int, payload: bytes) -> bytes:
    return _key(number, 2) + _encode_varint(len(payload)) + payload


def _varint_field(number: int, value: int) -> bytes:
    return _key(number, 0) + _encode_varint(value)


def _layer(name: str, layer_type: str, *fields: bytes) -> bytes:
    """A LayerParameter (NetParameter field 100) as the fork's own Caffe writes it."""
    return _len_field(100, _len_field(1, name.encode()) + _len_field(2, layer_type.encode()) + b"".join(fields))


def test_segnet_upsample_137_is_not_read_as_bvlc_embed():
    from converter.caffe.binary import parse_net_binary

    # SegNet's caffe.proto: upsample_param = 137 { scale = 1, upsample_h = 6 }; BVLC's 137 is embed_param.
    segnet = _layer("up", "Upsample", _len_field(137, _varint_field(1, 2) + _varint_field(6, 45)))
    plain = caffe_pb2.NetParameter.FromString(segnet)
    assert plain.layer[0].HasField("embed_param")  # what a plain parse would make of it
    net = parse_net_binary(segnet)
    assert not net.layer[0].HasField("embed_param")
    assert (net.layer[0].upsample_param.scale, net.layer[0].upsample_param.upsample_h) == (2, 45)
    # The same number in BVLC's Embed layer stays embed_param (num_output = 1).
    bvlc = parse_net_binary(_layer("emb", "Embed", _len_field(137, _varint_field(1, 7))))
    assert bvlc.layer[0].embed_param.num_output == 7


def test_pspnet_interp_143_and_bn_152_are_relocated():
    from converter.caffe.binary import parse_net_binary

    # PSPNet: interp_param = 143 (BVLC input_param) { zoom_factor = 3 }, bn_param = 152
    # { slope_filler = 1, momentum = 3 (float), eps = 4 }.
    interp = _layer("i", "Interp", _len_field(143, _varint_field(3, 8)))
    momentum = _key(3, 5) + struct.pack("<f", 0.95)
    bn = _layer("bn", "BN", _len_field(152, _len_field(1, _len_field(1, b"constant")) + momentum))
    net = parse_net_binary(interp + bn)
    assert not net.layer[0].HasField("input_param") and net.layer[0].interp_param.zoom_factor == 8
    assert net.layer[1].bn_param.momentum == pytest.approx(0.95)
    assert net.layer[1].bn_param.slope_filler.type == "constant"
    assert not net.layer[1].bn_param.HasField("bn_mode") and not net.layer[1].bn_param.HasField("scale_filler")


def test_pooling_13_cannot_be_told_apart_and_says_which_forks():
    from converter.caffe.binary import parse_net_binary
    from converter.errors import WeightsError

    # BVLC master: round_mode = 13 (CEIL 0, FLOOR 1); PR 3057: ceil_mode = 13 (bool). 0 is CEIL or "floor".
    pool = _layer("pool1", "Pooling", _len_field(121, _varint_field(2, 3) + _varint_field(13, 0)))
    with pytest.raises(WeightsError) as error:
        parse_net_binary(pool, "densenet.caffemodel")
    message = str(error.value)
    assert "pool1" in message and "round_mode" in message and "ceil_mode" in message and "PR 3057" in message
    assumed = parse_net_binary(pool, assume=["ceil_mode"]).layer[0].pooling_param
    assert (assumed.ceil_mode, assumed.HasField("round_mode"), assumed.kernel_size) == (False, False, 3)
    bvlc = parse_net_binary(pool, assume=["BVLC"]).layer[0].pooling_param
    assert bvlc.HasField("round_mode") and not bvlc.HasField("ceil_mode")


def test_deeplab_v1_image_seg_data_39_and_hole():
    from converter.caffe.binary import parse_net_binary

    # DeepLab v1: V1 type IMAGE_SEG_DATA = 39 (BVLC DECONVOLUTION) with image_data_param (15);
    # ConvolutionParameter hole = 17 (BVLC force_nd_im2col).
    data = _len_field(2, _len_field(4, b"data") + _varint_field(5, 39) + _len_field(15, _len_field(1, b"list")))
    conv = _len_field(2, _len_field(4, b"fc6") + _varint_field(5, 4) + _len_field(10, _varint_field(17, 12)))
    deconv = _len_field(2, _len_field(4, b"up") + _varint_field(5, 39) + _len_field(10, _varint_field(1, 3)))
    net = parse_net_binary(data + conv + deconv)
    assert net.layers[0].type == caffe_pb2.V1LayerParameter.IMAGE_SEG_DATA
    assert net.layers[1].convolution_param.hole == 12
    assert not net.layers[1].convolution_param.HasField("force_nd_im2col")
    assert net.layers[2].type == caffe_pb2.V1LayerParameter.DECONVOLUTION


def test_golden_caffemodels_read_the_same_through_the_fork_resolution():
    from converter.caffe.binary import parse_net_binary

    for path in (GOLDEN / "wild_res10_ssd_face" / "weights.caffemodel", GOLDEN / "layer_zoo" / "weights.caffemodel"):
        data = path.read_bytes()
        assert parse_net_binary(data, str(path)) == caffe_pb2.NetParameter.FromString(data), path


def test_the_weight_reader_takes_only_names_types_and_blobs():
    # The converter reads caffemodels with the wire walk: a fork's clashing parameter numbers (SegNet's
    # upsample_param 137, PR 3057's pooling field 13) are never interpreted, whatever they hold.
    from converter.caffe.wire import read_net_blobs

    blob = _len_field(5, struct.pack("<3f", 1.0, 2.0, 3.0)) + _len_field(7, _len_field(1, b"\x03"))
    data = (_layer("up", "Upsample", _len_field(137, _varint_field(1, 2)), _len_field(7, blob))
            + _layer("pool", "Pooling", _len_field(121, _varint_field(13, 0))))
    layers = read_net_blobs(memoryview(data))
    assert [(layer.name, layer.type, len(layer.blobs)) for layer in layers] == [
        ("up", "Upsample", 1), ("pool", "Pooling", 0)]
    assert layers[0].blobs[0].data.tolist() == [1.0, 2.0, 3.0] and layers[0].blobs[0].shape == (3,)
