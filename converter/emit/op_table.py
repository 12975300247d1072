"""The table behind each emitter: IR op class -> the function that emits it.

Every such function lives in its own module of the emitter's `ops` package and registers itself
with `@table.converts(OpClass)`; `load()` imports every module of that package once (pkgutil), so
adding an op needs no shared list.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Generic, TypeVar

from converter.ir import Node

F = TypeVar("F", bound=Callable[..., object])


class OpTable(Generic[F]):
    def __init__(self, backend: str, package: str) -> None:
        self.backend = backend
        self.package = package
        self.functions: dict[type[Node], F] = {}
        self._loaded = False

    def converts(self, kind: type[Node]) -> Callable[[F], F]:
        """Register the decorated function as the emitter of IR op class `kind`."""

        def register(function: F) -> F:
            if kind in self.functions and self.functions[kind] is not function:
                raise ValueError(f"two {self.backend} converters for {kind.__name__}")
            self.functions[kind] = function
            return function

        return register

    def load(self) -> dict[type[Node], F]:
        """Import every module of the `ops` package once (their decorators fill the table)."""
        if not self._loaded:
            ops = importlib.import_module(self.package)
            for module in pkgutil.iter_modules(ops.__path__):
                if not module.name.startswith("_"):
                    importlib.import_module(f"{self.package}.{module.name}")
            self._loaded = True
        return self.functions

    def emitter_of(self, node: Node) -> F:
        function = self.load().get(type(node))
        if function is None:
            raise NotImplementedError(f"no {self.backend} converter for {type(node).__name__} (node {node.name!r})")
        return function
