"""Will running this net fit in memory? Checked before anything runs it, so that a net whose every
blob passes the reader's size limit, but whose run does not fit, is refused with a clear message
instead of swapping the machine to a halt or being killed by the kernel.

The estimate is deliberately simple: float32 blobs, every one of them held `copies` times at once
(verification keeps each blob from the reference executor, ONNX Runtime and PyTorch), the weights
twice (the mapped file and the serialized ONNX model), and the largest scratch buffer one layer
needs on top (a padded input, im2col columns).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from converter.caffe.net import CaffeLayer, CaffeNet
from converter.errors import ConverterError

FLOAT = 4


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


def bytes_needed(net: CaffeNet, copies: int) -> int:
    blobs = sum(math.prod(s) for s in net.inputs.values())
    blobs += sum(math.prod(s) for layer in net.layers for s in layer.top_shapes)
    weights = sum(int(b.size) for layer in net.layers for b in layer.blobs)
    scratch = max((_scratch_elements(layer) for layer in net.layers), default=0)
    return FLOAT * (copies * blobs + 2 * weights + scratch)


def available_bytes() -> int | None:
    """Memory this process can still take: the kernel's MemAvailable, or less under a cgroup limit."""
    available = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if available is None and hasattr(os, "sysconf"):
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError):
            available = None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text())
            room = int(limit) - used
            available = room if available is None else min(available, room)
    except (OSError, ValueError):
        pass
    return available


def check_fits(net: CaffeNet, copies: int, what: str) -> None:
    """Refuse to run `net` if the estimate exceeds the memory available now."""
    needed = bytes_needed(net, copies)
    available = available_bytes()
    if available is not None and needed > available:
        raise ConverterError(f"{what} needs about {needed / 2**30:.1f} GiB of memory, {available / 2**30:.1f} GiB "
                             "is available: use a smaller input (--input-shape, a smaller batch)"
                             + (" or --no-verify" if what == "verification" else ""))
