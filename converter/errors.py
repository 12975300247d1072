"""The project's error types. Every failure a user can cause surfaces as one of these.

Each carries the process exit code the command line uses for it, so the CLI maps errors to exit
codes in one place: 1 verification mismatch, 2 bad input or usage, 3 output could not be written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ConverterError(Exception):
    """Base class: a problem with the user's input, reported without a traceback."""

    exit_code = 2


class PrototxtSyntaxError(ConverterError):
    """A prototxt that protobuf's text format rejects; names file:line:column."""

    def __init__(self, path: str, line: int, column: int, message: str) -> None:
        self.path, self.line, self.column, self.detail = path, line, column, message
        super().__init__(f"{path}:{line}:{column}: {message}")


class ModelError(ConverterError):
    """A net definition that is well-formed text but not a valid network (bad bottoms, shapes...)."""

    def __init__(self, message: str, layer: str | None = None) -> None:
        self.layer = layer
        super().__init__(f"layer '{layer}': {message}" if layer else message)


def describe_layer_type(kind: str) -> str:
    """A registry key as users know it: a Python layer's key is its python_param `module.layer`."""
    if "." in kind:
        module, _, layer = kind.rpartition(".")
        return f"Python layer {kind} (python_param module '{module}', layer '{layer}')"
    return kind


@dataclass(frozen=True)
class UnknownField:
    """A field (or enum value, when `value` is set) that a prototxt names and the schema lacks."""

    path: str
    line: int
    column: int
    message_type: str  # full name, e.g. "caffe.ConvolutionParameter"
    name: str
    layer: str | None = None
    layer_type: str | None = None
    value: str | None = None
    reason: str | None = None  # another problem with a field both schemas have (--caffe-proto)

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}: " if self.line else f"{self.path}: "
        return where + self.what()

    def what(self) -> str:
        """The problem without its position: layer, message and field."""
        layer = ""
        if self.layer is not None:
            layer = f"layer '{self.layer}'" + (f" ({self.layer_type})" if self.layer_type else "") + ": "
        message = self.message_type.rpartition(".")[2]
        if self.reason is not None:
            return f"{layer}{message}.{self.name}: {self.reason}"
        if self.value is not None:
            return f"{layer}{message}.{self.name} has no value {self.value}"
        return f"{layer}{message} has no field '{self.name}'"


class UnsupportedLayersError(ConverterError):
    """Every layer type the converter cannot handle, with the layers using it, and every field or
    enum value the schema lacks, with its file:line:column and layer, reported at once."""

    def __init__(self, unsupported: dict[str, list[str]], unknown: Sequence[UnknownField] = ()) -> None:
        self.unsupported, self.unknown = unsupported, list(unknown)
        parts = []
        if unsupported:
            lines = [f"  {describe_layer_type(kind)}: {', '.join(names)}"
                     for kind, names in sorted(unsupported.items())]
            parts.append("unsupported layer types:\n" + "\n".join(lines))
        if self.unknown:
            parts.append("fields and values the Caffe schema here does not have (BVLC's and the forks' in the "
                         "README; a fork's own caffe.proto can be given with --caffe-proto):\n"
                         + "\n".join(f"  {field}" for field in self.unknown))
        super().__init__("\n".join(parts))


class WeightsError(ConverterError):
    """Weights that are unreadable or do not fit the net (names the layer, expected vs found)."""

    def __init__(self, message: str, layer: str | None = None) -> None:
        self.layer = layer
        super().__init__(f"layer '{layer}': {message}" if layer else message)


class OutputError(ConverterError):
    """An output that cannot be written safely (collides with an input, exists, unwritable)."""

    exit_code = 3


class VerificationError(ConverterError):
    """Converted model disagrees with Caffe's semantics beyond tolerance."""

    exit_code = 1
