"""A stand-in for BVLC Caffe's pycaffe (it does not build here), faithful where the converter relies on
it.

Like the real package, `import caffe` registers a protoc-generated `caffe_pb2` of BVLC Caffe's schema
(tests/fakes/pycaffe.py: file "caffe.proto", package "caffe") in protobuf's default descriptor
pool, and reads the prototxt with it; `import caffe` fails with the real cause when `six` or scikit-
image is missing (pycaffe.py imports six, caffe/io.py skimage.io). `caffe.Net(prototxt, weights,
caffe.TEST)` has `blobs` (an OrderedDict in Caffe's order: each layer's tops as first made),
`_layer_names`, `top_names`, `reshape()` and `forward(start=, end=)` running the layers start..end.
The numbers are real Caffe's: they are replayed from a ../shared/golden case (each top as it was
right after its layer ran), after checking that the weights are that case's and the input is the
recorded one. An abort mode does what a failed CHECK does: glog's "F... Check failed" line on
stderr, then abort().
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

INIT = '''
import os
import sys
from collections import OrderedDict

if os.environ.get("FAKE_PYCAFFE_MODE") == "missing-module":
    import six  # noqa: F401 - pycaffe.py's first import
    import skimage.io  # noqa: F401 - what caffe/io.py imports (pycaffe's __init__ imports io)

import numpy as np
from google.protobuf import text_format

from . import caffe_pb2
from .caffe_pb2 import TEST, TRAIN  # noqa: F401 - as the real caffe/__init__.py does


def set_mode_cpu():
    pass


def _check_failed(where, message):
    sys.stderr.write("F1205 09:00:00.000000  4242 %s] Check failed: %s\\n*** Check failure stack trace: ***\\n"
                     % (where, message))
    sys.stderr.flush()
    os.abort()


class _Blob(object):
    def __init__(self, shape):
        self.data = np.zeros(shape, np.float32)

    @property
    def shape(self):
        return self.data.shape

    def reshape(self, *shape):
        self.data = np.zeros(shape, np.float32)


class Net(object):
    def __init__(self, prototxt, weights, phase):
        assert phase == TEST
        definition = caffe_pb2.NetParameter()
        with open(prototxt) as f:
            text_format.Merge(f.read(), definition)
        case = os.environ["FAKE_PYCAFFE_GOLDEN"]
        with open(weights, "rb") as given, open(os.path.join(case, "weights.caffemodel"), "rb") as recorded:
            if given.read() != recorded.read():
                raise RuntimeError("fake pycaffe replays one golden case: these are not its weights")
        if os.environ.get("FAKE_PYCAFFE_MODE") == "abort-load":
            _check_failed("blob.cpp:133", "data_ Syncing data of a blob that has none")
        self._recorded = np.load(os.path.join(case, "blobs.npz"))
        self.blobs = OrderedDict()
        self.top_names = OrderedDict()
        self._layer_names = []
        if definition.input:  # Caffe upgrades top-level inputs to one Input layer named "input"
            upgraded = caffe_pb2.LayerParameter(name="input", type="Input", top=list(definition.input))
            for i, _ in enumerate(definition.input):
                shapes = definition.input_shape
                dims = shapes[i].dim if shapes else definition.input_dim[4 * i:4 * i + 4]
                upgraded.input_param.shape.add(dim=list(dims))
            layers = [upgraded, *definition.layer]
        else:
            layers = list(definition.layer)
        for layer in layers:
            self._layer_names.append(layer.name)
            self.top_names[layer.name] = list(layer.top)
            for top in layer.top:
                if top not in self.blobs:
                    shape = layer.input_param.shape[list(layer.top).index(top)].dim if layer.type == "Input" else ()
                    self.blobs[top] = _Blob(tuple(shape))

    def reshape(self):
        pass

    def forward(self, start=None, end=None):
        names = list(self._layer_names)
        first = names.index(start) if start is not None else 0
        last = names.index(end) if end is not None else len(names) - 1
        for name in names[first:last + 1]:
            for top in self.top_names[name]:
                if "layer|%s|%s" % (name, top) not in self._recorded.files:
                    key = "input|" + top
                    if key in self._recorded.files and not np.array_equal(self.blobs[top].data, self._recorded[key]):
                        raise RuntimeError("fake pycaffe replays one golden case: not its input")
                    continue
                if os.environ.get("FAKE_PYCAFFE_MODE") == "abort-forward":
                    _check_failed("eltwise_layer.cpp:34", "bottom[i]->shape() == bottom[0]->shape()")
                self.blobs[top].data = self._recorded["layer|%s|%s" % (name, top)].copy()
                if os.environ.get("FAKE_PYCAFFE_MODE") == "spoil:" + top:
                    self.blobs[top].data.flat[0] += 1.0
        return {}
'''


def install(folder: Path, golden_case_dir: Path, mode: str = "replay") -> dict[str, str]:
    """Write the fake `caffe` package into `folder`, its caffe_pb2 generated by tests/fakes/pycaffe.py from
    BVLC's own schema; the environment a child process needs to import it and replay `golden_case_dir`
    (modes: replay, missing-module, abort-load, abort-forward, spoil:<top> to add 1 to that blob's first
    value)."""
    from fakes.pycaffe import make_caffe_package

    make_caffe_package(folder, textwrap.dedent(INIT))
    return {"PYTHONPATH": os.pathsep.join([str(folder), *filter(None, [os.environ.get("PYTHONPATH")])]),
            "FAKE_PYCAFFE_GOLDEN": str(golden_case_dir), "FAKE_PYCAFFE_MODE": mode}
