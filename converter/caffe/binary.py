"""Binary NetParameter (a caffemodel's layer definitions) read with the superset schema, never
misreading a field number that a fork gave to something else.

protos/caffe.proto holds BVLC Caffe's fields at BVLC's numbers and each fork's at the fork's own
number unless that clashes (converter/caffe/forks.py). A file written by a fork still carries the
fork's numbers, so before protobuf parses it, each clashing number is resolved per layer: by the
layer's type (SegNet's field 137 in an "Upsample" layer is upsample_param, in an "Embed" layer
BVLC's embed_param), by the wire type (SSD's TransformationParameter.resize_param is a message where
PSPNet's scale_factors is a float), or by the format (V1 `layers` with `hole` are DeepLab v1's).
What cannot be told apart (pooling field 13: BVLC's round_mode or PR 3057's ceil_mode, with inverted
values) is refused, naming the forks, unless the caller says which fork wrote the file.

The converter itself reads weights with the wire walk (converter/caffe/wire.py), which looks only at
names, types and blobs; this module is for reading a binary file's layer parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from converter.caffe import caffe_pb2, forks
from converter.caffe.wire import FIXED32, LEN, VARINT, WireError, encode_key, encode_varint, iter_fields
from converter.errors import WeightsError

OFFSET = forks.RELOCATION_OFFSET


@dataclass(frozen=True)
class Reading:
    """One fork's meaning of a field number: the superset's number for it, when it applies."""

    fork: str
    name: str
    number: int
    applies: Callable[[str, int], bool]  # (layer type, wire type) -> whether this reading fits
    # Renumbering of the field's own sub-message (PSPNet's BNParameter), if any.
    inner: dict[int, int] | None = None


def _types(*names: str) -> Callable[[str, int], bool]:
    return lambda layer_type, _wire: layer_type in names


def _wire(*wire_types: int) -> Callable[[str, int], bool]:
    return lambda _type, wire_type: wire_type in wire_types


def _any(_type: str, _wire_type: int) -> bool:
    return True


PSPNET_BN_INNER = {1: 1 + OFFSET, 2: 2 + OFFSET, 3: 3 + OFFSET}

# LayerParameter (the current format): number -> the readings the forks give it.
LAYER_CLASHES: dict[int, list[Reading]] = {
    137: [Reading(forks.BVLC, "embed_param", 137, _types("Embed")),
          Reading(forks.SEGNET, "upsample_param", 149, _types("Upsample"))],
    138: [Reading(forks.BVLC, "tile_param", 138, _types("Tile")),
          Reading(forks.SEGNET, "dense_image_data_param", 46, _types("DenseImageData"))],
    143: [Reading(forks.BVLC, "input_param", 143, _types("Input")),
          Reading(forks.PSPNET, "interp_param", 143 + OFFSET, _types("Interp"))],
    144: [Reading(forks.BVLC, "crop_param", 144, _types("Crop")),
          Reading(forks.PSPNET, "seg_accuracy_param", 144 + OFFSET, _types("SegAccuracy"))],
    145: [Reading(forks.BVLC, "parameter_param", 145, _types("Parameter")),
          Reading(forks.PSPNET, "mat_write_param", 145 + OFFSET, _types("MatWrite"))],
    147: [Reading(forks.BVLC, "swish_param", 147, _types("Swish")),
          Reading(forks.ENET, "upsample_param", 149, _types("Upsample"))],
    152: [Reading(forks.PSPNET, "bn_param", 45, _any, inner=PSPNET_BN_INNER)],
    200: [Reading(forks.SSD, "annotated_data_param", 200, _types("AnnotatedData")),
          Reading(forks.CRNN, "ctc_loss_param", 200 + OFFSET, _types("CtcLoss"))],
    201: [Reading(forks.SSD, "multibox_loss_param", 201, _types("MultiBoxLoss")),
          Reading(forks.CRNN, "continuation_indicator_param", 201 + OFFSET, _types("ContinuationIndicator"))],
}

# Parameter messages with clashing numbers inside: message name -> number -> readings.
MESSAGE_CLASHES: dict[str, dict[int, list[Reading]]] = {
    "PoolingParameter": {
        13: [Reading(forks.BVLC, "round_mode", 13, _any), Reading(forks.CEIL_MODE, "ceil_mode", 13 + OFFSET, _any)],
    },
    "TransformationParameter": {
        8: [Reading(forks.SSD, "resize_param", 8, _wire(LEN)),
            Reading(forks.PSPNET, "scale_factors", 8 + OFFSET, _wire(FIXED32))],
        9: [Reading(forks.SSD, "noise_param", 9, _wire(LEN)),
            Reading(forks.PSPNET, "crop_width", 9 + OFFSET, _wire(VARINT))],
        10: [Reading(forks.SSD, "emit_constraint", 10, _wire(LEN)),
             Reading(forks.PSPNET, "crop_height", 10 + OFFSET, _wire(VARINT))],
    },
    "LossParameter": {
        3: [Reading(forks.BVLC, "normalization", 3, _any),
            Reading(f"{forks.SEGNET} / {forks.ENET}", "weight_by_label_freqs", 3 + OFFSET, _any)],
    },
    "DropoutParameter": {
        2: [Reading(forks.FASTER_RCNN, "scale_train", 2, _any),
            Reading(f"{forks.SEGNET} / {forks.ENET}", "sample_weights_test", 2 + OFFSET, _any)],
    },
}
# Inside V1 layers (only DeepLab v1 wrote these there).
V1_MESSAGE_CLASHES: dict[str, dict[int, list[Reading]]] = {
    "ConvolutionParameter": {n: [Reading(forks.DEEPLAB_V1, name, n + OFFSET, _any)]
                             for name, n in (("hole", 17), ("hole_h", 18), ("hole_w", 19))},
    "ImageDataParameter": {13: [Reading(forks.DEEPLAB_V1, "has_label", 13, _any)]},
}
V2_MESSAGE_EXTRA: dict[str, dict[int, list[Reading]]] = {
    "ImageDataParameter": {13: [Reading(forks.ENET, "label_divide_factor", 13 + OFFSET, _any)]},
}

V1_DECONVOLUTION_OR_IMAGE_SEG_DATA = 39
V1_SEG_ACCURACY = caffe_pb2.V1LayerParameter.SEG_ACCURACY
V1_CONVOLUTION_PARAM, V1_IMAGE_DATA_PARAM, V1_LOSS_OR_SEG_ACCURACY = 10, 15, 42


class _Context:
    def __init__(self, origin: str, assume: Collection[str]) -> None:
        self.origin, self.assume = origin, set(assume)

    def choose(self, readings: list[Reading], layer: str, layer_type: str, wire_type: int,
               where: str, number: int) -> Reading:
        fitting = [r for r in readings if r.applies(layer_type, wire_type)]
        if len(fitting) > 1:
            fitting = [r for r in fitting if any(r.fork.startswith(fork) for fork in self.assume)] or fitting
        if len(fitting) == 1:
            return fitting[0]
        meanings = "; ".join(f"{r.name} in {r.fork}" for r in readings)
        raise WeightsError(
            f"{self.origin}: {where} field {number} is {meanings}, and this file does not show which fork "
            f"wrote it (layer type '{layer_type}'): it needs "
            f"{' or '.join(r.fork for r in readings)}; say which (assume=...) or read the layer "
            "definitions from the prototxt, which names its fields", layer=layer)


def _renumber(buf: memoryview, start: int, stop: int, mapping: dict[int, int]) -> bytes:
    out = bytearray()
    for number, wire_type, value, end in iter_fields(buf, start, stop):
        out += _field_bytes(buf, mapping.get(number, number), wire_type, value, end)
    return bytes(out)


def _field_bytes(buf: memoryview, number: int, wire_type: int, value: int, end: int,
                 payload: bytes | None = None) -> bytes:
    key = encode_key(number, wire_type)
    if wire_type == VARINT:
        return key + encode_varint(value)
    if wire_type == LEN:
        body = bytes(buf[value:end]) if payload is None else payload
        return key + encode_varint(len(body)) + body
    return key + bytes(buf[value:end])


def _message(buf: memoryview, start: int, stop: int, clashes: dict[int, list[Reading]], ctx: _Context,
             layer: str, layer_type: str, where: str) -> bytes:
    out = bytearray()
    for number, wire_type, value, end in iter_fields(buf, start, stop):
        readings = clashes.get(number)
        if readings is None:
            out += _field_bytes(buf, number, wire_type, value, end)
            continue
        reading = ctx.choose(readings, layer, layer_type, wire_type, where, number)
        payload = _renumber(buf, value, end, reading.inner) if reading.inner and wire_type == LEN else None
        out += _field_bytes(buf, reading.number, wire_type, value, end, payload)
    return bytes(out)


def _layer_type(buf: memoryview, start: int, stop: int, type_field: int) -> tuple[str, int | None]:
    for number, wire_type, value, end in iter_fields(buf, start, stop):
        if number == type_field:
            if wire_type == LEN:
                return bytes(buf[value:end]).decode("utf-8", "replace"), None
            return "", value
    return "", None


def _layer_name(buf: memoryview, start: int, stop: int, name_field: int) -> str:
    for number, wire_type, value, end in iter_fields(buf, start, stop):
        if number == name_field and wire_type == LEN:
            return bytes(buf[value:end]).decode("utf-8", "replace")
    return ""


def _param_messages(descriptor, extra: dict[str, dict[int, list[Reading]]]) -> dict[int, str]:
    """Field number -> message name, for the parameter fields whose messages have clashes."""
    inner = {**MESSAGE_CLASHES, **extra}
    return {f.number: f.message_type.name for f in descriptor.fields
            if f.message_type is not None and f.message_type.name in inner}


V2_PARAMS = _param_messages(caffe_pb2.LayerParameter.DESCRIPTOR, V2_MESSAGE_EXTRA)
V1_PARAMS = _param_messages(caffe_pb2.V1LayerParameter.DESCRIPTOR, V1_MESSAGE_CLASHES)


def _v2_layer(buf: memoryview, start: int, stop: int, ctx: _Context) -> bytes:
    layer_type, _ = _layer_type(buf, start, stop, 2)
    name = _layer_name(buf, start, stop, 1)
    inner = {message: {**MESSAGE_CLASHES.get(message, {}), **V2_MESSAGE_EXTRA.get(message, {})}
             for message in set(MESSAGE_CLASHES) | set(V2_MESSAGE_EXTRA)}
    out = bytearray()
    for number, wire_type, value, end in iter_fields(buf, start, stop):
        if number in LAYER_CLASHES:
            reading = ctx.choose(LAYER_CLASHES[number], name, layer_type, wire_type, "LayerParameter", number)
            payload = _renumber(buf, value, end, reading.inner) if reading.inner and wire_type == LEN else None
            out += _field_bytes(buf, reading.number, wire_type, value, end, payload)
        elif number in V2_PARAMS and wire_type == LEN:
            message = V2_PARAMS[number]
            body = _message(buf, value, end, inner[message], ctx, name, layer_type, message)
            out += _field_bytes(buf, number, wire_type, value, end, body)
        else:
            out += _field_bytes(buf, number, wire_type, value, end)
    return bytes(out)


def _v1_layer(buf: memoryview, start: int, stop: int, ctx: _Context) -> bytes:
    _, type_number = _layer_type(buf, start, stop, 5)
    name = _layer_name(buf, start, stop, 4)
    present = {number for number, *_ in iter_fields(buf, start, stop)}
    type_name = ""
    if type_number == V1_DECONVOLUTION_OR_IMAGE_SEG_DATA:
        if V1_IMAGE_DATA_PARAM in present and V1_CONVOLUTION_PARAM not in present:
            type_number = caffe_pb2.V1LayerParameter.IMAGE_SEG_DATA
        elif V1_CONVOLUTION_PARAM not in present:
            raise WeightsError(f"{ctx.origin}: V1 layer type 39 is DECONVOLUTION in {forks.BVLC} and "
                               f"IMAGE_SEG_DATA in {forks.DEEPLAB_V1}, and the layer has neither's parameters",
                               layer=name)
    if type_number is not None and type_number in caffe_pb2.V1LayerParameter.LayerType.values():
        type_name = caffe_pb2.V1LayerParameter.LayerType.Name(type_number)
    out = bytearray()
    for number, wire_type, value, end in iter_fields(buf, start, stop):
        if number == 5 and wire_type == VARINT and type_number is not None:
            out += _field_bytes(buf, number, wire_type, type_number, end)
        elif number == V1_LOSS_OR_SEG_ACCURACY and type_number == V1_SEG_ACCURACY:
            out += _field_bytes(buf, caffe_pb2.V1LayerParameter.DESCRIPTOR.fields_by_name[
                "seg_accuracy_param"].number, wire_type, value, end)
        elif number in V1_PARAMS and wire_type == LEN:
            message = V1_PARAMS[number]
            clashes = {**MESSAGE_CLASHES.get(message, {}), **V1_MESSAGE_CLASHES.get(message, {})}
            body = _message(buf, value, end, clashes, ctx, name, type_name, message)
            out += _field_bytes(buf, number, wire_type, value, end, body)
        else:
            out += _field_bytes(buf, number, wire_type, value, end)
    return bytes(out)


def resolve_fork_numbers(data: bytes, origin: str = "<binary>", assume: Collection[str] = ()) -> bytes:
    """The binary NetParameter with every fork's clashing field number moved to the superset's.

    `assume` names forks (as in converter/caffe/forks.py, or the start of the name, e.g. "BVLC" or
    "ceil_mode") whose reading wins where the file alone cannot tell.
    """
    buf = memoryview(data)
    ctx = _Context(origin, assume)
    out = bytearray()
    try:
        for number, wire_type, value, end in iter_fields(buf, 0, len(buf)):
            if number == 100 and wire_type == LEN:
                out += _field_bytes(buf, number, wire_type, value, end, _v2_layer(buf, value, end, ctx))
            elif number == 2 and wire_type == LEN:
                out += _field_bytes(buf, number, wire_type, value, end, _v1_layer(buf, value, end, ctx))
            else:
                out += _field_bytes(buf, number, wire_type, value, end)
    except WireError as error:
        raise WeightsError(f"{origin}: not a readable NetParameter ({error})") from None
    return bytes(out)


def parse_net_binary(data: bytes, origin: str = "<binary>", assume: Collection[str] = ()) -> caffe_pb2.NetParameter:
    """A binary NetParameter (a caffemodel) parsed with the superset schema, fork numbers resolved."""
    resolved = resolve_fork_numbers(data, origin, assume)
    net = caffe_pb2.NetParameter()
    try:
        net.ParseFromString(resolved)
    except Exception as error:  # protobuf's DecodeError differs between backends
        raise WeightsError(f"{origin}: not a readable NetParameter ({error})") from None
    return net
