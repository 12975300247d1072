"""Plugins: user code that registers layer types the way the built-in layers are registered.

A plugin is a Python file (`--plugin FILE.py` on any command, repeatable; in the library
`load_plugin(path)`) or an entry point of an installed distribution in the group
`squeeze_convert.plugins` (loaded once, before the first net is read). Loading runs the plugin's
top-level code, which registers with the same functions the built-in layers use:

- `converter.caffe.layers.register(TYPE, output_shapes=..., forward=..., blob_shapes=...)`:
  Caffe's semantics (top shapes, weight shapes, numpy forward: the reference executor);
- `converter.lift.registry.converts(TYPE)` on a function `CaffeLayer -> IR node`;
- for an op the IR lacks: a `@dataclass(kw_only=True)` subclass of `converter.ir.Node`, with
  `converter.emit.onnx.registry.converts(Op)` and `converter.emit.torch.registry.converts(Op)` on
  its ONNX and PyTorch emitters.

TYPE is the layer's `type` string; for a Python layer it is its python_param `module.layer`, e.g.
"rpn.proposal_layer.ProposalLayer" (converter.caffe.select.python_layer_key). An entry point may
name a module (imported) or a callable (called with no arguments).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType

from converter.errors import ConverterError

# The plugins this package ships (converter/bundled_plugins/) are declared in pyproject.toml under this
# group and load as any installed plugin does: one mechanism.
ENTRY_POINT_GROUP = "squeeze_convert.plugins"

_loaded_files: dict[Path, ModuleType] = {}
_entry_points_loaded = False


class PluginError(ConverterError):
    """A plugin that cannot be found or fails while loading (names the plugin and where it failed)."""


def _where(error: BaseException, path: Path | None) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    inside = [frame for frame in frames if path is not None and Path(frame.filename) == path] or frames[-1:]
    return f" (line {inside[-1].lineno})" if inside else ""


def load_plugin(path: str | Path) -> ModuleType:
    """Run a plugin file once (a second call with the same file returns the loaded module)."""
    path = Path(path)
    if not path.is_file():
        raise PluginError(f"{path}: no such file" if not path.exists() else f"{path}: is not a file")
    resolved = path.resolve()
    if resolved in _loaded_files:
        return _loaded_files[resolved]
    name = "squeeze_convert_plugin_" + hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise PluginError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except ConverterError:
        sys.modules.pop(name, None)
        raise
    except Exception as error:  # noqa: BLE001 - any failure of the user's plugin is reported as bad input
        sys.modules.pop(name, None)
        raise PluginError(f"plugin {path} failed{_where(error, resolved)}: "
                          f"{type(error).__name__}: {error}") from None
    _loaded_files[resolved] = module
    return module


def load_installed_plugins() -> None:
    """Load every `squeeze_convert.plugins` entry point, once per process."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry_point.load()
            if callable(loaded) and not isinstance(loaded, ModuleType):
                loaded()
        except ConverterError:
            raise
        except Exception as error:  # noqa: BLE001
            raise PluginError(f"plugin entry point {entry_point.name} = {entry_point.value} failed: "
                              f"{type(error).__name__}: {error}") from None
