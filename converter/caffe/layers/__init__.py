"""Caffe's layer semantics, one file per layer type, registered in `LAYER_TYPES`.

Each layer type states plainly what Caffe does: the shapes of its tops, the shapes its weight blobs
must have, and its forward pass in numpy (float32). Together they are the reference executor that
converted models are verified against, and the shape rules the reader checks weights with.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from converter.caffe.net import CaffeLayer, Shape

OutputShapes = Callable[[CaffeLayer, list[Shape]], list[Shape]]
BlobShapes = Callable[[CaffeLayer, list[Shape]], list[Shape]]
Forward = Callable[[CaffeLayer, list[np.ndarray]], list[np.ndarray]]


@dataclass(frozen=True)
class ScoredRows:
    """A top holding one row per detection along its last-but-one axis: rows are ordered by the
    `group` columns (exact values: image, label, ...), then by the `score` column descending, and
    rows whose scores (nearly) tie may come in either order."""

    group: tuple[int, ...]
    score: int


@dataclass(frozen=True)
class LayerType:
    name: str
    output_shapes: OutputShapes
    forward: Forward
    # Expected shapes of the layer's weight blobs given its bottom shapes; none for weightless layers.
    blob_shapes: BlobShapes | None = None
    # Whether Caffe's forward pass still computes the layer's function when top i is bottom i (the
    # blob is shared): element-wise layers do; others reshape or overwrite their input first.
    in_place: bool = False
    # Tops that hold scored detection rows (their order among near-equal scores is not fixed).
    scored_rows: ScoredRows | None = None


LAYER_TYPES: dict[str, LayerType] = {}


def register(
    name: str, *, output_shapes: OutputShapes, forward: Forward, blob_shapes: BlobShapes | None = None,
    in_place: bool = False, scored_rows: ScoredRows | None = None,
) -> LayerType:
    if name in LAYER_TYPES:
        raise ValueError(f"layer type {name} registered twice")
    LAYER_TYPES[name] = LayerType(name, output_shapes, forward, blob_shapes, in_place, scored_rows)
    return LAYER_TYPES[name]


def expected_blobs(layer: CaffeLayer) -> list[Shape]:
    """The shapes of the weight blobs the layer needs (none for a weightless layer)."""
    blob_shapes = LAYER_TYPES[layer.type].blob_shapes
    return [] if blob_shapes is None else [tuple(s) for s in blob_shapes(layer, layer.bottom_shapes)]


def _import_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_import_all()
