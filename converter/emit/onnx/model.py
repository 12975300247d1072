"""An emitted ONNX model as a graph skeleton plus weight arrays, and its atomic, streaming writer.

Weights are written straight from the arrays (no in-memory copy of the whole model), and the
metadata last of all, so a source file's sha256 still being computed in the background holds the
writer up as little as possible (protobuf accepts a message's fields in any order). Past
`EXTERNAL_DATA_THRESHOLD` bytes (protobuf cannot parse a message of 2 GiB or more) they go to
`<file>.data` beside the model as ONNX external data; the two files are replaced together, atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from converter.emit.onnx import proto
from converter.fileio import all_or_nothing, atomic_output, progress
from converter.mapped import write_array

if TYPE_CHECKING:
    import onnx

EXTERNAL_DATA_THRESHOLD = 2**31 - 2**24  # protobuf's 2 GiB message limit, less room for the graph
_ALIGNMENT = 64


@dataclass
class OnnxModel:
    """An emitted model kept as its graph skeleton (no initializers; a ModelProto or its
    serialised bytes, which is what the emitter makes, needing no onnx import) plus the weight
    arrays, and metadata_props still to add (values written as str(value), as late as possible).

    `to_proto()` builds the whole ModelProto in memory; `save()` streams the arrays to disk.
    """

    skeleton: onnx.ModelProto | bytes
    weights: list[tuple[str, np.ndarray]]
    metadata: dict[str, object] = field(default_factory=dict)

    @classmethod
    def from_proto(cls, model: onnx.ModelProto) -> OnnxModel:
        import onnx
        from onnx import numpy_helper

        weights = [(t.name, numpy_helper.to_array(t)) for t in model.graph.initializer]
        skeleton = onnx.ModelProto()
        skeleton.CopyFrom(model)
        del skeleton.graph.initializer[:]
        return cls(skeleton, weights)

    def skeleton_bytes(self) -> bytes:
        return self.skeleton if isinstance(self.skeleton, bytes) else self.skeleton.SerializeToString()

    def header(self) -> onnx.ModelProto:
        """The skeleton with the metadata added: everything but the initializers."""
        import onnx

        return onnx.ModelProto.FromString(self.skeleton_bytes() + proto.metadata_props(self.metadata))

    def to_proto(self) -> onnx.ModelProto:
        from onnx import numpy_helper

        model = self.header()
        model.graph.initializer.extend(numpy_helper.from_array(a, name) for name, a in self.weights)
        return model

    @property
    def weight_bytes(self) -> int:
        return sum(a.nbytes for _, a in self.weights)

    def save(self, path: Path, external_threshold: int | None = None) -> None:
        """Write atomically; with `external_threshold` bytes of weights or more (default:
        `EXTERNAL_DATA_THRESHOLD`), as external data."""
        path = Path(path)
        if external_threshold is None:
            external_threshold = EXTERNAL_DATA_THRESHOLD
        if self.weight_bytes >= external_threshold:
            self._save_external(path)
            return
        with atomic_output(path) as f, progress(self.weight_bytes, f"writing {path.name}") as bar:
            f.write(self.skeleton_bytes())
            for name, array in self.weights:
                _write_initializer(f, name, array, bar.update)
            f.write(proto.metadata_props(self.metadata))

    def _save_external(self, path: Path) -> None:
        import onnx

        data_name = f"{path.name}.data"
        model = onnx.ModelProto.FromString(self.skeleton_bytes())
        offset = 0
        # The .onnx points into the .data by offset: the two replace the old pair together or not at all.
        with all_or_nothing():
            with atomic_output(path.with_name(data_name)) as data, \
                    progress(self.weight_bytes, f"writing {data_name}") as bar:
                for name, array in self.weights:
                    if array.ndim == 0 or array.dtype.kind != "f":
                        # Shapes, indices, masks and scalars (a Reshape's shape, Range's bounds, a Loop's
                        # condition) stay in the model: ONNX Runtime's shape inference reads such inputs
                        # when it loads a model, and fails on external data.
                        model.graph.initializer.append(onnx.TensorProto.FromString(proto.tensor(name, array)))
                        bar.update(array.nbytes)
                        continue
                    padding = -offset % _ALIGNMENT
                    data.write(b"\0" * padding)
                    offset += padding
                    write_array(data, array, bar.update)
                    tensor = onnx.TensorProto.FromString(proto.tensor_header(name, array))
                    tensor.data_location = onnx.TensorProto.EXTERNAL
                    _set_external(tensor, (("location", data_name), ("offset", str(offset)),
                                           ("length", str(array.nbytes))))
                    model.graph.initializer.append(tensor)
                    offset += array.nbytes
            _add_metadata(model, self.metadata)
            with atomic_output(path) as f:
                f.write(model.SerializeToString())


def _add_metadata(model: onnx.ModelProto, metadata: Mapping[str, object]) -> onnx.ModelProto:
    for key, value in metadata.items():
        model.metadata_props.add(key=str(key), value=str(value))
    return model


def _set_external(tensor: onnx.TensorProto, entries: Iterable[tuple[str, str]]) -> None:
    for key, value in entries:
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value


def _write_initializer(f: BinaryIO, name: str, array: np.ndarray,
                       on_chunk: Callable[[int], None] | None = None) -> None:
    """Append `ModelProto{graph{initializer{...}}}`: protobuf merges repeated occurrences of the
    graph field on parse, so the file reads as one model; raw_data (field 9, written last) is the
    array's little-endian bytes, from a mapped caffemodel copied file to file."""
    header = proto.tensor_header(name, array)
    raw_key = bytes([9 << 3 | 2])  # TensorProto.raw_data
    tensor_size = len(header) + 1 + len(proto.varint(array.nbytes)) + array.nbytes
    initializer = bytes([5 << 3 | 2]) + proto.varint(tensor_size)  # GraphProto.initializer
    f.write(bytes([7 << 3 | 2]) + proto.varint(len(initializer) + tensor_size))  # ModelProto.graph
    f.write(initializer + header + raw_key + proto.varint(array.nbytes))
    write_array(f, array, on_chunk)
