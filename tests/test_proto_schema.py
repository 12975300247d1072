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


def test_layer_parameter_has_exactly_bvlcs_fields():
    fields = {field.name: field.number for field in caffe_pb2.LayerParameter.DESCRIPTOR.fields}
    assert fields == BVLC_LAYER_PARAM_NUMBERS


def test_v1_layer_type_enum_is_bvlcs():
    values = {value.name: value.number for value in caffe_pb2.V1LayerParameter.LayerType.DESCRIPTOR.values}
    assert values == BVLC_V1_LAYER_TYPES


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
