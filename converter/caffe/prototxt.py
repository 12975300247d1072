"""Parsing prototxt (protobuf text format) into caffe.NetParameter, with file:line:column errors."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from google.protobuf import text_format

from converter.caffe import caffe_pb2
from converter.errors import PrototxtSyntaxError
from converter.fileio import read_input_bytes

QUOTE_LIMIT = 80


def parse_prototxt(path: str | Path) -> caffe_pb2.NetParameter:
    path = Path(path)
    raw = read_input_bytes(path)
    # Editors on Windows start UTF-8 files with a byte order mark; protobuf would stop at it.
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise PrototxtSyntaxError(str(path), line, column, "not valid UTF-8 text") from None
    return parse_prototxt_text(text, str(path))


def parse_prototxt_text(text: str, origin: str = "<prototxt>") -> caffe_pb2.NetParameter:
    net = caffe_pb2.NetParameter()
    try:
        text_format.Merge(text, net)
    except text_format.ParseError as error:
        message = re.sub(r"^\d+:\d+\s*:\s*", "", str(error))
        quoted = re.match(r"'(.*)': (.*)$", message, re.DOTALL)
        if quoted and len(quoted.group(1)) > QUOTE_LIMIT:  # protobuf quotes the whole line, however long
            message = f"'{quoted.group(1)[:QUOTE_LIMIT]}...': {quoted.group(2)}"
        line, column = error.GetLine() or 1, error.GetColumn() or 1
        raise PrototxtSyntaxError(origin, line, column, message) from None
    return net
