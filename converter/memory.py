"""Will running this net fit in memory? Checked before anything runs it, so that a net whose every
blob passes the reader's size limit, but whose run does not fit, is refused with a clear message
instead of swapping the machine to a halt or being killed by the kernel.

The estimate is of the run's peak resident memory: the libraries a verification loads
(RUNTIME_BYTES), every float32 blob once per run alive at the same time (verification keeps the
reference executor's blobs and runs its backends one at a time, so at most two: `copies` above 2
counts as 2) plus 0.8 times more for the runtimes' own buffers, the weights 1.05 times (the mapped
file's pages; ONNX Runtime runs a big model from its file, PyTorch shares the mapped weights), and
the largest scratch buffer one layer needs on top (a padded input, im2col columns). The constants
are fitted with `benchmarks/memory_estimate.py` (peak RSS of `verify`, 2-core Linux machine):
SqueezeNet v1.1 at 1x3x227x227 380 MiB measured / 376 estimated, 8x3x227x227 954 / 949,
1x3x512x512 712 / 721, VGG-16 at 1x3x224x224 1270 / 1270.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from converter.caffe.net import CaffeLayer, CaffeNet
from converter.errors import ConverterError

FLOAT = 4
# What the interpreter and the libraries a verification loads (numpy, onnx, ONNX Runtime, torch)
# hold before any net: measured, 287 MiB.
RUNTIME_BYTES = 287 << 20
# The runtimes' buffers beyond the blobs they return, in tenths of the blobs' size.
RUNTIME_BUFFERS_TENTHS = 8
# Runs whose blobs are alive at once: the reference executor's and the backend running now.
MAX_RUNS_ALIVE = 2
# The weights' resident share, in twentieths of their size (the mapped file, a little more).
WEIGHT_TWENTIETHS = 21


def _scratch_elements(layer: CaffeLayer) -> int:
    """Elements of the largest temporary a backend builds for one image of this layer."""
    if layer.type not in ("Convolution", "Deconvolution", "Pooling") or not layer.bottom_shapes:
        return 0
    shape = layer.bottom_shapes[0]
    if len(shape) != 4:
        return 0
    _, c, h, w = shape
    if layer.type == "Pooling":
        # Caffe's own reading of the pads (pad, or pad_h with pad_w; never one of these alone).
        from converter.caffe.layers.pooling import geometry as pooling_geometry

        pad_h, pad_w = pooling_geometry(layer, layer.bottom_shapes).pad
        return c * (h + 2 * pad_h) * (w + 2 * pad_w)
    from converter.caffe.layers.convolution import geometry

    g = geometry(layer, layer.bottom_shapes)
    top = layer.top_shapes[0]
    if layer.type == "Convolution":  # im2col: (C/group * kh * kw) x (oh * ow), per group
        # The padded input includes the zeros an overhanging kernel reads past it.
        padded = c * (h + 2 * g.pad[0] + g.end_padding(h, 0)) * (w + 2 * g.pad[1] + g.end_padding(w, 1))
        columns = c * g.kernel[0] * g.kernel[1] * top[2] * top[3]
    else:  # col2im: (M * kh * kw) x (h * w)
        padded = c * (h + 2 * g.pad[0]) * (w + 2 * g.pad[1])
        columns = g.num_output * g.kernel[0] * g.kernel[1] * h * w
    return padded + columns


def elements(net: CaffeNet) -> tuple[int, int, int]:
    """What the estimate counts, in float32 values: every blob once, the weights once, and the
    largest scratch buffer of one layer."""
    blobs = sum(math.prod(s) for s in net.inputs.values())
    blobs += sum(math.prod(s) for layer in net.layers for s in layer.top_shapes)
    weights = sum(int(b.size) for layer in net.layers for b in layer.blobs)
    scratch = max((_scratch_elements(layer) for layer in net.layers), default=0)
    return blobs, weights, scratch


def bytes_needed(net: CaffeNet, copies: int) -> int:
    """The estimated peak resident memory of running `net` with `copies` copies of each blob."""
    blobs, weights, scratch = elements(net)
    alive = min(copies, MAX_RUNS_ALIVE)
    blob_bytes = FLOAT * blobs * (10 * alive + RUNTIME_BUFFERS_TENTHS) // 10
    return RUNTIME_BYTES + blob_bytes + FLOAT * (weights * WEIGHT_TWENTIETHS // 20 + scratch)


def available_bytes(root: Path = Path("/")) -> int | None:
    """Memory this process can still take: the least of the kernel's MemAvailable, the room left
    under each memory cgroup limit it is in (v2 `memory.max`, v1 `memory.limit_in_bytes`, its own
    group and the ones above it) and under its own limits (RLIMIT_AS, RLIMIT_DATA). `root` is for
    tests: where /proc and /sys are."""
    rooms = [_mem_available(root), *_cgroup_rooms(root), *_rlimit_rooms(root)]
    known = [room for room in rooms if room is not None]
    return max(0, min(known)) if known else None


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _mem_available(root: Path) -> int | None:
    try:
        for line in (root / "proc" / "meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if root == Path("/") and hasattr(os, "sysconf"):
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            return None
    return None


def _cgroup_rooms(root: Path) -> list[int]:
    """Limit minus usage of every memory cgroup the process is in (and the groups above it)."""
    mount = root / "sys" / "fs" / "cgroup"
    try:
        lines = (root / "proc" / "self" / "cgroup").read_text().splitlines()
    except OSError:
        lines = []
    groups = {"v2": "/", "v1": "/"}
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":
            groups["v2"] = path
        elif "memory" in controllers.split(","):
            groups["v1"] = path
    rooms = []
    for version, limit_file, usage_file, base in (("v2", "memory.max", "memory.current", mount),
                                                  ("v1", "memory.limit_in_bytes", "memory.usage_in_bytes",
                                                   mount / "memory")):
        folder = base / groups[version].strip("/")
        if not folder.is_dir():  # another cgroup namespace: the mount shows the process's own group
            folder = base
        for level in (folder, *folder.parents):
            limit, usage = _read_int(level / limit_file), _read_int(level / usage_file)
            # v1 writes "no limit" as a page-rounded 2^63; v2 as "max" (not a number).
            if limit is not None and usage is not None and limit < 1 << 60:
                rooms.append(limit - usage)
            if level == base:
                break
    return rooms


def _rlimit_rooms(root: Path) -> list[int]:
    """Room under the process's own address-space and data-segment limits (ulimit -v, -d)."""
    try:
        import resource
    except ImportError:
        return []
    used: dict[str, int] = {}
    try:
        for line in (root / "proc" / "self" / "status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmSize", "VmData"):
                used[key] = int(value.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return []
    rooms = []
    for limit_name, field in (("RLIMIT_AS", "VmSize"), ("RLIMIT_DATA", "VmData")):
        soft, _ = resource.getrlimit(getattr(resource, limit_name))
        if soft != resource.RLIM_INFINITY and field in used:
            rooms.append(soft - used[field])
    return rooms


def check_fits(net: CaffeNet, copies: int, what: str) -> None:
    """Refuse to run `net` if the estimate exceeds the memory available now."""
    needed = bytes_needed(net, copies)
    available = available_bytes()
    if available is not None and needed > available:
        raise ConverterError(f"{what} needs about {needed / 2**30:.1f} GiB of memory, {available / 2**30:.1f} GiB "
                             "is available: use a smaller input (--input-shape, a smaller batch)"
                             + (" or --no-verify" if what == "verification" else ""))
