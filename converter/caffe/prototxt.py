"""Parsing prototxt (protobuf text format) into caffe.NetParameter, with file:line:column errors.

Parsing is lenient about names the schema does not know: a field no message of the schema has, or
an enum value it does not list, is skipped and recorded (where, in which layer) so that the caller
can report all of them at once, together with every unsupported layer type, instead of stopping
at the first. Anything else that is not valid text format stops the parse with its position.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import message as _message
from google.protobuf import text_format

from converter.caffe import caffe_pb2
from converter.caffe.schema import Positions, active_caffe_proto, load_fork_schema, to_superset
from converter.errors import PrototxtSyntaxError, UnknownField
from converter.fileio import read_input_bytes

QUOTE_LIMIT = 80
LAYER_MESSAGES = ("LayerParameter", "V1LayerParameter", "V0LayerParameter")


@dataclass
class ParsedPrototxt:
    """A parsed net and what its text named that the schema does not know."""

    net: caffe_pb2.NetParameter
    unknown: list[UnknownField] = field(default_factory=list)
    # V1 layers whose enum type was not a known value: layer name -> the type written.
    unknown_v1_types: dict[str, str] = field(default_factory=dict)
    # The text parsed (decoded, byte order mark removed): where a layer is written is found in it.
    text: str = ""


def layer_position(text: str, name: str, occurrence: int = 0) -> tuple[int, int] | None:
    """Line and column (1-based) of the layer named `name` in prototxt `text` (the `occurrence`-th of
    that name, from 0): its `name:` field inside a block (the net's own top-level name is skipped)."""
    for found in re.finditer(rf'\bname\s*:\s*["\']{re.escape(name)}["\']', text):
        before = text[:found.start()]
        if before.count("{") > before.count("}"):
            if occurrence == 0:
                return before.count("\n") + 1, found.start() - before.rfind("\n")
            occurrence -= 1
    return None


def prototxt_source(path: str | Path) -> str:
    """The text of a prototxt as the parser reads it: a regular file, UTF-8, without a byte order mark."""
    raw = read_input_bytes(path)  # a regular file only: a FIFO would block, /dev/zero never end
    # Editors on Windows start UTF-8 files with a byte order mark; protobuf would stop at it.
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise PrototxtSyntaxError(str(path), line, column, "not valid UTF-8 text") from None


def read_prototxt(path: str | Path, caffe_proto: str | Path | None = None) -> ParsedPrototxt:
    """Parse leniently: the net, plus every unknown field and enum value with its position.

    With `caffe_proto` (or the one the command line set, converter.caffe.schema.active_caffe_proto)
    the text is parsed with that fork's schema and copied by name into the superset; what the
    superset lacks is reported like an unknown field.
    """
    path = Path(path)
    return read_prototxt_text(prototxt_source(path), str(path), caffe_proto)


def parse_prototxt(path: str | Path, caffe_proto: str | Path | None = None) -> caffe_pb2.NetParameter:
    """Parse strictly: an unknown field or value is a syntax error at the first one, naming all."""
    return _strict(read_prototxt(path, caffe_proto))


def parse_prototxt_text(text: str, origin: str = "<prototxt>",
                        caffe_proto: str | Path | None = None) -> caffe_pb2.NetParameter:
    return _strict(read_prototxt_text(text, origin, caffe_proto))


def _strict(parsed: ParsedPrototxt) -> caffe_pb2.NetParameter:
    if parsed.unknown:
        first = parsed.unknown[0]
        raise PrototxtSyntaxError(first.path, first.line, first.column, "; ".join(
            [first.what(), *(f"{field.line}:{field.column}: {field.what()}" for field in parsed.unknown[1:])]))
    return parsed.net


def read_prototxt_text(text: str, origin: str = "<prototxt>",
                       caffe_proto: str | Path | None = None) -> ParsedPrototxt:
    caffe_proto = caffe_proto if caffe_proto is not None else active_caffe_proto()
    if caffe_proto is None:
        net = caffe_pb2.NetParameter()
        return _with_v1_types(ParsedPrototxt(net, _parse(text, origin, net, None), text=text))
    schema = load_fork_schema(caffe_proto)
    fork_net, positions = schema.new_net(), Positions()
    unknown = _parse(text, origin, fork_net, positions)  # fields not even the fork's schema has
    net = caffe_pb2.NetParameter()
    unknown += to_superset(fork_net, net, origin, positions)
    unknown.sort(key=lambda field: (field.line, field.column))
    return _with_v1_types(ParsedPrototxt(net, unknown, text=text))


def _parse(text: str, origin: str, net: _message.Message, positions: Positions | None) -> list[UnknownField]:
    """Merge the text into `net`; the fields and values its schema lacks (recording every field's
    position into `positions` if given)."""
    parser = _RecordingParser(origin, positions)
    try:
        parser.MergeLines(text.split("\n"), net)
    except text_format.ParseError as error:
        syntax = _syntax_error(error, origin)
        unknown = _unknown_fields(parser)
        if not unknown:
            raise syntax from None
        # The earliest problem first, every problem named: what the schema lacks, then the syntax error.
        first = unknown[0]
        raise PrototxtSyntaxError(origin, first.line, first.column, "; ".join(
            [first.what(), *(f"{field.line}:{field.column}: {field.what()}" for field in unknown[1:]),
             f"{syntax.line}:{syntax.column}: {syntax.detail}"])) from None
    return _unknown_fields(parser)


def _with_v1_types(parsed: ParsedPrototxt) -> ParsedPrototxt:
    for unknown in parsed.unknown:
        if unknown.value is not None and unknown.message_type.endswith("V1LayerParameter") and unknown.name == "type":
            parsed.unknown_v1_types[unknown.layer or ""] = unknown.value
    return parsed


def _unknown_fields(parser: _RecordingParser) -> list[UnknownField]:
    return [UnknownField(record.path, record.line, record.column, record.message_type, record.name,
                         layer.name if layer is not None else None, _layer_type_name(layer), record.value,
                         record.reason)
            for record, layer in parser.records]


def _layer_type_name(layer: _message.Message | None) -> str | None:
    if layer is None:
        return None
    if layer.DESCRIPTOR.name == "V1LayerParameter":
        return layer.DESCRIPTOR.fields_by_name["type"].enum_type.values_by_number[layer.type].name \
            if layer.HasField("type") else None
    return layer.type or None


def _syntax_error(error: text_format.ParseError, origin: str) -> PrototxtSyntaxError:
    message = re.sub(r"^\d+:\d+\s*:\s*", "", str(error))
    quoted = re.match(r"'(.*)': (.*)$", message, re.DOTALL)
    if quoted and len(quoted.group(1)) > QUOTE_LIMIT:  # protobuf quotes the whole line, however long
        message = f"'{quoted.group(1)[:QUOTE_LIMIT]}...': {quoted.group(2)}"
    line, column = error.GetLine() or 1, error.GetColumn() or 1
    return PrototxtSyntaxError(origin, line, column, message)


@dataclass
class _Record:
    path: str
    line: int
    column: int
    message_type: str
    name: str
    value: str | None = None  # set for an unknown enum value
    reason: str | None = None  # set for a value the field's type cannot hold ("three" for an integer)


class _RecordingParser(text_format._Parser):  # noqa: SLF001 - protobuf offers no public lenient hook
    """protobuf's text parser, skipping unknown fields and enum values and recording where they were.

    Relies on `_Parser` calling `_MergeField` per field, `_SkipFieldContents` for an unknown one,
    `_MergeScalarField` per scalar value, and the tokenizer's position of the previous token; the
    pinned protobuf (constraints.txt) has them.
    """

    def __init__(self, origin: str, positions: Positions | None = None) -> None:
        super().__init__(allow_unknown_field=True)
        self.origin = origin
        self.records: list[tuple[_Record, _message.Message | None]] = []
        self.positions = positions
        self._stack: list[_message.Message] = []
        self._skip_depth = 0

    def _enclosing_layer(self) -> _message.Message | None:
        return next((m for m in reversed(self._stack) if m.DESCRIPTOR.name in LAYER_MESSAGES), None)

    def _MergeField(self, tokenizer, message):  # noqa: N802 - protobuf's name
        if self.positions is not None:
            self.positions.record(message, tokenizer.token, tokenizer._line + 1, tokenizer._column + 1)
        self._stack.append(message)
        try:
            super()._MergeField(tokenizer, message)
        finally:
            self._stack.pop()

    def _SkipField(self, tokenizer, immediate_message_type):  # noqa: N802
        self._skip_depth += 1
        try:
            super()._SkipField(tokenizer, immediate_message_type)
        finally:
            self._skip_depth -= 1

    def _SkipFieldContents(self, tokenizer, field_name, immediate_message_type):  # noqa: N802
        if self._skip_depth == 0:
            record = _Record(self.origin, tokenizer._previous_line + 1, tokenizer._previous_column + 1,
                             immediate_message_type, field_name)
            self.records.append((record, self._enclosing_layer()))
        super()._SkipFieldContents(tokenizer, field_name, immediate_message_type)

    def _MergeScalarField(self, tokenizer, message, field):  # noqa: N802
        line, column, token = tokenizer._line + 1, tokenizer._column + 1, tokenizer.token
        try:
            return super()._MergeScalarField(tokenizer, message, field)
        except text_format.ParseError as error:
            # One word, number or quoted string the field cannot take: recorded and skipped, so that
            # the rest of the net (its other problems, its layer types) is still read. Anything else
            # (a brace, a missing value) leaves the text's structure unknown: a syntax error.
            if field.enum_type is not None and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*|-?\d+", token or ""):
                value, reason = token, None
            elif field.enum_type is None and re.fullmatch(r"[-+.\w]+|\"[^\"\n]*\"|'[^'\n]*'", token or ""):
                value, reason = None, re.sub(r"^.*': ", "", _syntax_error(error, self.origin).detail, flags=re.DOTALL)
            else:
                raise
            tokenizer.NextToken()
            record = _Record(self.origin, line, column, field.containing_type.full_name, field.name, value, reason)
            self.records.append((record, self._enclosing_layer()))
            return None
