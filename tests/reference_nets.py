"""Every net of ../shared/reference_models as an IR graph with deterministic synthetic weights, built
once per test process (the deployment tests share them)."""

from __future__ import annotations

import functools

from conftest import WILD_MODELS, shared_path

# name -> (prototxt under reference_models, input shape: batch 1 at the deploy file's size)
REFERENCE_NETS = {
    "squeezenet_v1.0": ("deepscale_squeezenet_v1.0/deploy.prototxt", (1, 3, 227, 227)),
    "squeezenet_v1.1": ("deepscale_squeezenet_v1.1/deploy.prototxt", (1, 3, 227, 227)),
    "deep_compression": ("deep_compression_squeezenet/SqueezeNet_deploy.prototxt", (1, 3, 227, 227)),
    "squeezenet_residual": ("squeezenet_residual/trainval.prototxt", (1, 3, 227, 227)),
    "alexnet": ("bvlc/bvlc_alexnet/deploy.prototxt", (1, 3, 227, 227)),
    "caffenet": ("bvlc/bvlc_reference_caffenet/deploy.prototxt", (1, 3, 227, 227)),
    "googlenet": ("bvlc/bvlc_googlenet/deploy.prototxt", (1, 3, 224, 224)),
    "mobilenet_v1": ("mobilenet_caffe/mobilenet_deploy.prototxt", (1, 3, 224, 224)),
    "mobilenet_v2": ("mobilenet_caffe/mobilenet_v2_deploy.prototxt", (1, 3, 224, 224)),
    "layer_zoo": ("synthetic/layer_zoo.prototxt", (1, 3, 19, 23)),
}
# The fork models of ../shared/wild that convert, at their sweep input shapes. ResNet-152 (BVLC layers
# only) and FCN-8s (Crop is a plain Slice) are left out: their weights cost more than all the others.
# So is Faster R-CNN: its proposals and every blob after them have as many rows as proposals survive,
# which the IR (and so the ONNX value_info) records as the batch dimension N.
REFERENCE_NETS.update({f"wild_{name}": (f"../wild/{name}/deploy.prototxt", shape)
                       for name, shape in WILD_MODELS.items()
                       if name not in ("resnet152", "fcn8s_voc", "faster_rcnn_zf")})


@functools.cache
def reference_net(name: str):  # noqa: ANN201 - a CaffeNet; imported lazily
    """The loaded net with synthetic weights attached (in memory: no caffemodel written). Blobs of
    more than 4M values (AlexNet's fully connected layers) hold one repeated value: drawing 60M
    random numbers would cost more than every test using them."""
    import numpy as np

    from converter.caffe.layers import LAYER_TYPES
    from converter.caffe.loader import load_net
    from converter.caffe.synthetic import synthetic_blobs

    prototxt, shape = REFERENCE_NETS[name]
    net = load_net(shared_path("reference_models", prototxt), None, {"data": shape})
    big = {layer.name for layer in net.layers if LAYER_TYPES[layer.type].blob_shapes is not None
           and any(np.prod(s) > 1 << 22 for s in LAYER_TYPES[layer.type].blob_shapes(layer, layer.bottom_shapes))}
    small = [layer for layer in net.layers if layer.name not in big]
    blobs = synthetic_blobs(type(net)(net.name, net.inputs, small), seed=3, calibrate=False)  # a partial net
    for layer in net.layers:
        if layer.name in big:
            layer.blobs = [np.full(s, 1e-3, np.float32)
                           for s in LAYER_TYPES[layer.type].blob_shapes(layer, layer.bottom_shapes)]
        else:
            layer.blobs = blobs.get(layer.name, [])
    return net


@functools.cache
def reference_graph(name: str):  # noqa: ANN201 - a Graph
    from converter.pipeline import build_graph

    return build_graph(reference_net(name))
