"""Runs a net in BVLC Caffe through pycaffe, in a process of its own (started by the pycaffe backend).

    python pycaffe_child.py NET.prototxt WEIGHTS.caffemodel INPUTS.npz OUT_DIR

Why a child process: a failed CHECK inside Caffe's C++ aborts the whole process, which nothing can
catch in-process; and pycaffe registers its own generated `caffe_pb2` in protobuf's default
descriptor pool, which must not meet the converter's schema. This file imports nothing of the
converter (its folder holds the converter's own `caffe` package, so it is taken off sys.path).

It reports its stage on stdout ("stage: import", "stage: load", "stage: forward", "done"), so that
the parent can say where Caffe died. The net runs one layer at a time (`forward(start=L, end=L)`),
and each top is saved right after its layer ran, as OUT_DIR/<n>.npy, listed in OUT_DIR/blobs.json
as [layer, top, file]: the same blobs a golden `blobs.npz` records (`layer|<layer>|<top>`), in-place
layers' inputs included. Exit status: 0 done, 10 `import caffe` failed, 11 Caffe refused the net
with a Python exception, 12 the forward pass raised one; a C++ abort ends it by its signal.
"""

import json
import os
import sys
import traceback

IMPORT_FAILED, LOAD_FAILED, FORWARD_FAILED = 10, 11, 12


def _stage(name: str) -> None:
    sys.stdout.write(f"stage: {name}\n")
    sys.stdout.flush()


def _fail(status: int) -> None:
    traceback.print_exc(file=sys.stderr)
    sys.stderr.flush()
    sys.exit(status)


def main(prototxt: str, weights: str, inputs_path: str, out_dir: str) -> None:
    import numpy as np

    _stage("import")
    try:
        import caffe
    except BaseException:  # noqa: BLE001 - any failure to import is reported with its real cause
        _fail(IMPORT_FAILED)
    _stage("load")
    try:
        caffe.set_mode_cpu()
        net = caffe.Net(prototxt, weights, caffe.TEST)
    except BaseException:  # noqa: BLE001
        _fail(LOAD_FAILED)
    _stage("forward")
    saved = []
    try:
        with np.load(inputs_path) as inputs:
            for name in inputs.files:
                if name not in net.blobs:  # read only by a layer the TEST-phase definition leaves out
                    continue
                value = inputs[name]
                net.blobs[name].reshape(*value.shape)
                net.blobs[name].data[...] = value
        if hasattr(net, "reshape"):
            net.reshape()
        for layer in list(net._layer_names):
            net.forward(start=layer, end=layer)
            for top in net.top_names[layer]:
                file = f"{len(saved)}.npy"
                np.save(os.path.join(out_dir, file), np.asarray(net.blobs[top].data, dtype=np.float32))
                saved.append([layer, top, file])
    except BaseException:  # noqa: BLE001
        _fail(FORWARD_FAILED)
    with open(os.path.join(out_dir, "blobs.json"), "w") as listing:
        json.dump(saved, listing)
    _stage("done")


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    main(*sys.argv[1:5])
