"""The project's error types. Every failure a user can cause surfaces as one of these.

Each carries the process exit code the command line uses for it, so the CLI maps errors to exit
codes in one place: 1 verification mismatch, 2 bad input or usage, 3 output could not be written.
"""

from __future__ import annotations


class ConverterError(Exception):
    """Base class: a problem with the user's input, reported without a traceback."""

    exit_code = 2


class PrototxtSyntaxError(ConverterError):
    """A prototxt that protobuf's text format rejects; names file:line:column."""

    def __init__(self, path: str, line: int, column: int, message: str) -> None:
        self.path, self.line, self.column = path, line, column
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


class UnsupportedLayersError(ConverterError):
    """Every layer type the converter cannot handle, with the layers using it, reported at once."""

    def __init__(self, unsupported: dict[str, list[str]]) -> None:
        self.unsupported = unsupported
        lines = [f"  {describe_layer_type(kind)}: {', '.join(names)}" for kind, names in sorted(unsupported.items())]
        super().__init__("unsupported layer types:\n" + "\n".join(lines))


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
