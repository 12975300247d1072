"""A fork's own caffe.proto, compiled at run time into a private descriptor pool (`--caffe-proto`).

protoc (grpcio-tools' bundled copy, an optional extra: `pip install "squeeze-convert[caffe-proto]"`)
turns the .proto into a FileDescriptorProto; its messages are built in a pool of their own, so the
fork's `caffe` package never meets the converter's or pycaffe's. A prototxt is parsed with the
fork's NetParameter, then copied field by field, by name, into the converter's superset schema;
what the superset has no field (or enum value) for is reported with its layer and file:line:column,
all at once, since the converter cannot know what it means.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from contextvars import ContextVar, Token
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from converter.errors import ConverterError, UnknownField

INSTALL_HINT = 'pip install "squeeze-convert[caffe-proto]" (grpcio-tools, which bundles protoc)'


class SchemaError(ConverterError):
    """A .proto that cannot be compiled (protoc's own message), or no protoc to compile it with."""


def compile_descriptor(proto: Path, include: Path | None = None) -> bytes:
    """The serialized FileDescriptorProto protoc makes of `proto` (imports looked up in `include`,
    by default the .proto's folder). protoc runs in a child process so its messages are captured."""
    try:
        import grpc_tools  # noqa: F401 - only to know whether protoc is there
    except ImportError:
        raise SchemaError(f"compiling {proto} needs protoc: {INSTALL_HINT}") from None
    from google.protobuf import descriptor_pb2

    proto = Path(proto)
    if not proto.is_file():
        raise SchemaError(f"{proto}: no such file")
    include = Path(include) if include is not None else proto.resolve().parent
    with tempfile.TemporaryDirectory(prefix="caffe-proto-") as tmp:
        out = Path(tmp) / "descriptor.pb"
        done = subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", f"--proto_path={include}",
             f"--descriptor_set_out={out}", str(proto.resolve())],
            capture_output=True, text=True, check=False)
        if done.returncode != 0 or not out.is_file():
            message = (done.stderr or done.stdout).strip() or f"protoc exited with status {done.returncode}"
            raise SchemaError(f"{proto}: protoc cannot compile it:\n{message}")
        files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    return files[-1].SerializeToString(deterministic=True)


@dataclass(frozen=True)
class ForkSchema:
    """A fork's compiled schema: its private pool and its NetParameter class."""

    path: Path
    pool: descriptor_pool.DescriptorPool
    net_class: type[Message]

    def new_net(self) -> Message:
        return self.net_class()


_compiled: dict[Path, ForkSchema] = {}
_active: ContextVar[Path | None] = ContextVar("caffe_proto", default=None)


def active_caffe_proto() -> Path | None:
    """The fork schema the command line gave (--caffe-proto), used where no `caffe_proto` is passed."""
    return _active.get()


def use_caffe_proto(proto: str | Path | None) -> Token:
    """Make `proto` the schema prototxts are read with until `_active.reset(token)`."""
    return _active.set(Path(proto) if proto is not None else None)


def reset_caffe_proto(token: Token) -> None:
    _active.reset(token)


def load_fork_schema(proto: str | Path) -> ForkSchema:
    """Compile a fork's caffe.proto (once per file per process) into a private pool."""
    path = Path(proto)
    key = path.resolve()
    if key not in _compiled:
        pool = descriptor_pool.DescriptorPool()
        file = pool.AddSerializedFile(compile_descriptor(path))
        net = file.message_types_by_name.get("NetParameter")
        if net is None:
            raise SchemaError(f"{path}: declares no NetParameter message (is it a Caffe schema?)")
        _compiled[key] = ForkSchema(path, pool, message_factory.GetMessageClass(net))
    return _compiled[key]


class Positions:
    """Where each field of each message was written (line, column), recorded while parsing."""

    def __init__(self) -> None:
        self._at: dict[tuple[int, str], tuple[int, int]] = {}
        self._kept: list[Message] = []  # message wrappers alive, so that their ids stay theirs

    def record(self, message: Message, name: str, line: int, column: int) -> None:
        if (id(message), name) not in self._at:
            self._at[id(message), name] = (line, column)
            self._kept.append(message)

    def of(self, message: Message, name: str) -> tuple[int, int]:
        return self._at.get((id(message), name), (0, 0))

_INTEGERS = {FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT32,
             FieldDescriptor.CPPTYPE_UINT64}
_FLOATS = {FieldDescriptor.CPPTYPE_FLOAT, FieldDescriptor.CPPTYPE_DOUBLE}


def _compatible(source: FieldDescriptor, target: FieldDescriptor) -> bool:
    if source.is_repeated != target.is_repeated:
        return False
    kinds = (source.cpp_type, target.cpp_type)
    return (source.cpp_type == target.cpp_type or set(kinds) <= _INTEGERS or set(kinds) <= _FLOATS
            or (source.cpp_type in _INTEGERS and target.cpp_type in _FLOATS))


def _fits(value: object, target: FieldDescriptor) -> bool:
    if target.cpp_type not in _INTEGERS or not isinstance(value, int):
        return True
    bits = 32 if target.cpp_type in (FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_UINT32) else 64
    unsigned = target.cpp_type in (FieldDescriptor.CPPTYPE_UINT32, FieldDescriptor.CPPTYPE_UINT64)
    low, high = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return low <= value <= high


class _Translation:
    def __init__(self, origin: str, positions: Positions) -> None:
        self.origin, self.positions = origin, positions
        self.problems: list[UnknownField] = []

    def refuse(self, message: Message, field: FieldDescriptor, layer: Message | None, why: str | None = None,
               value: str | None = None) -> None:
        line, column = self.positions.of(message, field.name)
        layer_name = getattr(layer, "name", None) if layer is not None else None
        self.problems.append(UnknownField(self.origin, line, column, message.DESCRIPTOR.full_name, field.name,
                                          layer_name, _type_of(layer), value, why))

    def copy(self, source: Message, target: Message, layer: Message | None) -> None:
        if source.DESCRIPTOR.name in ("LayerParameter", "V1LayerParameter", "V0LayerParameter"):
            layer = source
        for field, value in source.ListFields():
            into = target.DESCRIPTOR.fields_by_name.get(field.name)
            if into is None:
                self.refuse(source, field, layer)
                continue
            if not _compatible(field, into) or (field.message_type is None) != (into.message_type is None):
                self.refuse(source, field, layer, f"{_kind(field)} in the fork, {_kind(into)} here")
                continue
            values = list(value) if field.is_repeated else [value]
            if field.message_type is not None:
                for item in values:
                    sink = getattr(target, into.name).add() if into.is_repeated else getattr(target, into.name)
                    self.copy(item, sink, layer)
                continue
            converted = []
            for item in values:
                if field.enum_type is not None:
                    name = field.enum_type.values_by_number[item].name if item in field.enum_type.values_by_number \
                        else str(item)
                    known = into.enum_type.values_by_name.get(name) if into.enum_type is not None else None
                    if known is None:
                        self.refuse(source, field, layer, value=name)
                        break
                    converted.append(known.number)
                elif not _fits(item, into):
                    self.refuse(source, field, layer, f"{item} does not fit {_kind(into)}")
                    break
                else:
                    converted.append(item)
            else:
                if into.is_repeated:
                    getattr(target, into.name).extend(converted)
                else:
                    setattr(target, into.name, converted[0])


def _kind(field: FieldDescriptor) -> str:
    if field.message_type is not None:
        return f"message {field.message_type.name}"
    if field.enum_type is not None:
        return f"enum {field.enum_type.name}"
    names = {value: key[len("TYPE_"):].lower() for key, value in vars(FieldDescriptor).items()
             if key.startswith("TYPE_")}
    return ("repeated " if field.is_repeated else "") + names.get(field.type, "?")


def _type_of(layer: Message | None) -> str | None:
    if layer is None or not layer.DESCRIPTOR.fields_by_name.get("type"):
        return None
    field = layer.DESCRIPTOR.fields_by_name["type"]
    if field.enum_type is not None:
        value = field.enum_type.values_by_number.get(layer.type)
        return value.name if value is not None and layer.HasField("type") else None
    return layer.type or None


def to_superset(fork_net: Message, superset_net: Message, origin: str, positions: Positions) -> list[UnknownField]:
    """Copy `fork_net` into `superset_net` by field name; return what could not be copied."""
    translation = _Translation(origin, positions)
    translation.copy(fork_net, superset_net, None)
    return translation.problems
