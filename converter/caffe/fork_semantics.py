"""Where Caffe forks read the same prototxt differently, the fork a net was written for.

The YOLOv3 ports' Caffe (ChenYingpeng/caffe-yolov3 and its kin) changed Pooling so that darknet's
maxpool of size 2 and stride 1 keeps the map's size: one more output window on both axes whenever
kernel_h - stride_h is odd, the window clipped to the input. BVLC's Pooling makes 12 of 13 there,
and YOLOv3-tiny's route (Concat) of the upsampled map no longer fits. A net holding the YOLO ports'
Upsample (one bottom, `scale`; no other Caffe has it) runs only on such a Caffe, so its Pooling
layers follow that rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from converter.caffe.net import CaffeLayer

YOLO = "yolo"


def assign_forks(layers: Sequence[CaffeLayer]) -> None:
    """Set `fork` on the layers whose meaning depends on the fork the net was written for."""
    if any(layer.type == "Upsample" and len(layer.bottoms) == 1 for layer in layers):
        for layer in layers:
            if layer.type == "Pooling":
                layer.fork = YOLO
