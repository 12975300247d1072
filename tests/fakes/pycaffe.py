"""A stock pycaffe's `caffe.caffe_pb2`, made for real at test time.

pycaffe installs a package `caffe` whose `caffe_pb2` module protoc generated from BVLC's
src/caffe/proto/caffe.proto: package `caffe`, file name `caffe.proto`, registered in protobuf's
default descriptor pool when imported. That registration is what collides with any other module
defining the same file or symbols in the default pool, so the stand-in is generated the same way:
grpcio-tools' protoc on the BVLC-only schema kept beside this file (bvlc_caffe.proto), compiled
under the name caffe.proto, the module placed in a `caffe` package directory.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

BVLC_PROTO = Path(__file__).with_name("bvlc_caffe.proto")
PACKAGE_INIT = '"""Stand-in for pycaffe (tests/fakes/pycaffe.py): only caffe_pb2 is real."""\n'


def make_caffe_package(dest: Path, init_source: str = PACKAGE_INIT) -> Path:
    """Write `dest/caffe/__init__.py` and a protoc-generated `dest/caffe/caffe_pb2.py`; return `dest`.

    Put `dest` on sys.path (or PYTHONPATH of a subprocess) and `import caffe.caffe_pb2` is what a
    stock pycaffe gives. `init_source` is the package's __init__.py, for a fuller fake pycaffe
    (a `Net` class, ...) built on top of the real schema module.
    """
    from grpc_tools import protoc

    package = dest / "caffe"
    package.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bvlc-proto-") as tmp:
        proto = Path(tmp) / "caffe.proto"
        shutil.copyfile(BVLC_PROTO, proto)
        status = protoc.main(["grpc_tools.protoc", f"--proto_path={tmp}", f"--python_out={package}", str(proto)])
    if status != 0 or not (package / "caffe_pb2.py").is_file():
        raise RuntimeError(f"protoc failed ({status}) on {BVLC_PROTO}")
    (package / "__init__.py").write_text(init_source, encoding="utf-8")
    return dest
