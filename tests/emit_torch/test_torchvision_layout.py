"""SqueezeNet-shaped graphs get torchvision's SqueezeNet layout: the same state_dict keys, shapes and
order as torchvision.models.squeezenet.SqueezeNet(version, num_classes=1000), and modules that
compute what torchvision's do.

The expected structure is written out here from torchvision's squeezenet.py (read, not imported:
torchvision does not import on this machine):
    Fire(inplanes, squeeze, expand1x1, expand3x3): squeeze = Conv2d(inplanes, squeeze, 1),
        expand1x1 = Conv2d(squeeze, expand1x1, 1), expand3x3 = Conv2d(squeeze, expand3x3, 3, padding=1),
        each followed by a ReLU attribute (no parameters); forward concatenates [1x1, 3x3].
    features (1_0): Conv2d(3, 96, 7, stride=2), ReLU, MaxPool, Fire(96, 16, 64, 64), Fire(128, 16, 64, 64),
        Fire(128, 32, 128, 128), MaxPool, Fire(256, 32, 128, 128), Fire(256, 48, 192, 192),
        Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), MaxPool, Fire(512, 64, 256, 256)
    features (1_1): Conv2d(3, 64, 3, stride=2), ReLU, MaxPool, Fire(64, 16, 64, 64), Fire(128, 16, 64, 64),
        MaxPool, Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), MaxPool, Fire(256, 48, 192, 192),
        Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), Fire(512, 64, 256, 256)
    every MaxPool: MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)
    classifier: Dropout(p=0.5), Conv2d(512, num_classes, 1), ReLU, AdaptiveAvgPool2d((1, 1))
    forward: flatten(classifier(features(x)), 1)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import golden_case
from converter.ir import Conv, Pool, Relu
from emit_common import fire_node, graph_of, rand, torch_fire
from emit_torch.helpers import check

POOL = "pool"
TORCHVISION_FEATURES = {
    "1_0": [("conv", 3, 96, 7), "relu", POOL, ("fire", 96, 16, 64, 64), ("fire", 128, 16, 64, 64),
            ("fire", 128, 32, 128, 128), POOL, ("fire", 256, 32, 128, 128), ("fire", 256, 48, 192, 192),
            ("fire", 384, 48, 192, 192), ("fire", 384, 64, 256, 256), POOL, ("fire", 512, 64, 256, 256)],
    "1_1": [("conv", 3, 64, 3), "relu", POOL, ("fire", 64, 16, 64, 64), ("fire", 128, 16, 64, 64), POOL,
            ("fire", 128, 32, 128, 128), ("fire", 256, 32, 128, 128), POOL, ("fire", 256, 48, 192, 192),
            ("fire", 384, 48, 192, 192), ("fire", 384, 64, 256, 256), ("fire", 512, 64, 256, 256)],
}
GOLDEN = {"squeezenet_v1.0": "1_0", "squeezenet_v1.1": "1_1"}


def torchvision_state_shapes(version: str, num_classes: int = 1000) -> list[tuple[str, tuple[int, ...]]]:
    """torchvision's SqueezeNet state_dict, in order, as (key, shape)."""
    entries: list[tuple[str, tuple[int, ...]]] = []

    def conv(prefix: str, cin: int, cout: int, k: int) -> None:
        entries.extend([(f"{prefix}.weight", (cout, cin, k, k)), (f"{prefix}.bias", (cout,))])

    for i, layer in enumerate(TORCHVISION_FEATURES[version]):
        if layer[0] == "conv":
            conv(f"features.{i}", *layer[1:])
        elif layer[0] == "fire":
            _, cin, squeeze, e1, e3 = layer
            conv(f"features.{i}.squeeze", cin, squeeze, 1)
            conv(f"features.{i}.expand1x1", squeeze, e1, 1)
            conv(f"features.{i}.expand3x3", squeeze, e3, 3)
    conv("classifier.1", 512, num_classes, 1)
    return entries


@pytest.fixture(scope="module", params=sorted(GOLDEN))
def squeezenet(request):
    from converter import pipeline
    from converter.emit.torch import emit_torch, load_module

    case = golden_case(request.param)
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"])
    export = emit_torch(conversion.graph)
    return GOLDEN[request.param], export, load_module(export)


def test_state_dict_keys_shapes_and_order_are_torchvisions(squeezenet) -> None:
    version, export, module = squeezenet
    expected = torchvision_state_shapes(version)
    assert [(k, tuple(v.shape)) for k, v in export.state_dict.items()] == expected
    assert [(k, tuple(v.shape)) for k, v in module.state_dict().items()] == expected


def test_modules_are_torchvisions(squeezenet) -> None:
    version, export, module = squeezenet
    layers = TORCHVISION_FEATURES[version]
    assert len(module.features) == len(layers)
    for i, (layer, built) in enumerate(zip(layers, module.features, strict=True)):
        if layer == POOL:
            assert isinstance(built, torch.nn.MaxPool2d), i
            assert (built.kernel_size, built.stride, built.padding, built.ceil_mode) == (3, 2, 0, True), i
        elif layer == "relu":
            assert isinstance(built, torch.nn.ReLU), i
        elif layer[0] == "conv":
            assert isinstance(built, torch.nn.Conv2d), i
            assert (built.stride, built.padding, built.dilation, built.groups) == ((2, 2), (0, 0), (1, 1), 1)
        else:
            assert type(built).__name__ == "Fire", i
            assert built.expand3x3.padding == (1, 1) and built.squeeze.padding == (0, 0) == built.expand1x1.padding
    dropout, final, relu, pool = module.classifier
    assert isinstance(dropout, torch.nn.Dropout) and dropout.p == 0.5
    assert isinstance(final, torch.nn.Conv2d) and final.kernel_size == (1, 1) and final.stride == (1, 1)
    assert isinstance(relu, torch.nn.ReLU)
    assert isinstance(pool, torch.nn.AdaptiveAvgPool2d) and pool.output_size in ((1, 1), 1)
    # DeepScale's v1.0 pads its final 1x1 convolution by 1; torchvision's does not: said in a note.
    padded = version == "1_0"
    assert final.padding == ((1, 1) if padded else (0, 0))
    assert any("pads by (1, 1)" in note for note in export.notes) == padded
    assert any("flattens to N x classes" in note for note in export.notes)


def torchvision_forward(state: dict[str, torch.Tensor], version: str, x: torch.Tensor,
                        final_padding: int = 0) -> torch.Tensor:
    """torchvision's SqueezeNet forward (eval mode) written with torch.nn.functional over a state_dict."""
    def conv(prefix: str, t: torch.Tensor, stride: int = 1, padding: int = 0) -> torch.Tensor:
        return F.conv2d(t, state[f"{prefix}.weight"], state[f"{prefix}.bias"], stride, padding)

    for i, layer in enumerate(TORCHVISION_FEATURES[version]):
        if layer == POOL:
            x = F.max_pool2d(x, 3, 2, ceil_mode=True)
        elif layer == "relu":
            x = F.relu(x)
        elif layer[0] == "conv":
            x = conv(f"features.{i}", x, stride=2)
        else:
            s = F.relu(conv(f"features.{i}.squeeze", x))
            x = torch.cat([F.relu(conv(f"features.{i}.expand1x1", s)),
                           F.relu(conv(f"features.{i}.expand3x3", s, padding=1))], 1)
    x = F.relu(conv("classifier.1", x, padding=final_padding))
    return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


def test_a_torchvision_checkpoint_loads_and_computes_torchvisions_function(squeezenet) -> None:
    # Random weights under torchvision's keys: the generated module loads them strictly and its
    # features + classifier give torchvision's logits (shaped N x C x 1 x 1, as Caffe's), except that
    # DeepScale's v1.0 final convolution keeps its padding of 1; the Caffe net's softmax follows.
    version, _, module = squeezenet
    generator = torch.Generator().manual_seed(0)
    shapes = torchvision_state_shapes(version)
    state = {key: torch.rand(shape, generator=generator) * 0.2 - 0.1 for key, shape in shapes}
    module.load_state_dict(state, strict=True)
    x = torch.rand((2, 3, 227, 227), generator=generator)
    with torch.no_grad():
        logits = module.classifier(module.features(x))
        probabilities = module(x)
        expected = torchvision_forward(state, version, x, final_padding=1 if version == "1_0" else 0)
        unpadded = torchvision_forward(state, version, x)
    assert logits.shape == (2, 1000, 1, 1)
    np.testing.assert_allclose(logits.flatten(1).numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(probabilities.flatten(1).numpy(), torch.softmax(expected, 1).numpy(), atol=1e-6)
    assert np.allclose(expected.numpy(), unpadded.numpy(), rtol=1e-4, atol=1e-5) == (version == "1_1")


def test_weights_and_input_are_channels_last(squeezenet) -> None:
    # PyTorch's CPU (oneDNN) convolutions run SqueezeNet about 2x faster on NHWC tensors: the module
    # keeps its weights channels_last (load_state_dict copies into them, keeping that layout) and
    # turns a contiguous input into it, computing the same values.
    _, _, module = squeezenet
    convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 26 and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    seen = []
    hook = module.features[0].register_forward_pre_hook(
        lambda _, args: seen.append(args[0].is_contiguous(memory_format=torch.channels_last)))
    try:
        with torch.no_grad():
            module(torch.rand((1, 3, 67, 67)))
    finally:
        hook.remove()
    assert seen == [True]


@pytest.mark.parametrize("slope", [0.0, 0.5])
def test_a_small_squeezenet_shaped_graph_follows_the_graph_not_torchvision(slope: float) -> None:
    # Conv, ReLU, MaxPool, Fire, Conv, ReLU, global AvgPool: torchvision's layout, but every module
    # computes what its node says (here a leaky final ReLU, which torchvision's class has not).
    fire = fire_node(cin=4, s1=2, e1=3, e3=3)
    fire.inputs = ["p1"]
    w1, b1, w10, b10 = rand((4, 3, 3, 3), 1), rand((4,), 2), rand((5, 6, 1, 1), 3), rand((5,), 4) - 3
    nodes = [Conv(name="conv1", inputs=["data"], outputs=["c1"], weight=w1, bias=b1),
             Relu(name="relu1", inputs=["c1"], outputs=["r1"]),
             Pool(name="pool1", inputs=["r1"], outputs=["p1"], kind="max", kernel=(3, 3), stride=(2, 2),
                  extra_end=(1, 1)),
             fire,
             Conv(name="conv10", inputs=["fire2/concat"], outputs=["c10"], weight=w10, bias=b10),
             Relu(name="relu10", inputs=["c10"], outputs=["r10"], negative_slope=slope),
             Pool(name="pool10", inputs=["r10"], outputs=["out"], kind="avg", kernel=(0, 0), stride=(1, 1),
                  global_pool=True)]
    shapes = {"data": (1, 3, 9, 9), "c1": (1, 4, 7, 7), "r1": (1, 4, 7, 7), "p1": (1, 4, 3, 3),
              "fire2/concat": (1, 6, 3, 3), "c10": (1, 5, 3, 3), "r10": (1, 5, 3, 3), "out": (1, 5, 1, 1)}

    def expected(x: np.ndarray) -> np.ndarray:
        t = F.relu(F.conv2d(torch.from_numpy(x), torch.from_numpy(w1), torch.from_numpy(b1)))
        t = torch.from_numpy(torch_fire(fire, F.max_pool2d(t, 3, 2, ceil_mode=True).numpy()))
        t = F.leaky_relu(F.conv2d(t, torch.from_numpy(w10), torch.from_numpy(b10)), slope)
        return t.mean(dim=(2, 3), keepdim=True).numpy()

    emitted = check(graph_of(nodes, shapes), expected, rtol=1e-4, atol=1e-5)
    assert set(emitted.shapes()) >= {"features.0.weight", "features.3.squeeze.weight", "classifier.1.weight"}
    assert type(emitted.module.classifier[2]).__name__ == ("LeakyReLU" if slope else "ReLU")
