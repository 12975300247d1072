"""Writes the project's SqueezeNet v1.0 and v1.1 deploy definitions (python reference_models/make_squeezenet.py).

Architectures from the SqueezeNet paper (Iandola et al., 2016, Table 1) and DeepScale's v1.1
revision: conv1, eight Fire modules (s1x1, e1x1, e3x3), conv10, global average pooling, softmax.
As in DeepScale's v1.0 release, v1.0's conv10 pads by 1.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent

FIRES = {  # name: (s1x1, e1x1, e3x3)
    "fire2": (16, 64, 64), "fire3": (16, 64, 64), "fire4": (32, 128, 128), "fire5": (32, 128, 128),
    "fire6": (48, 192, 192), "fire7": (48, 192, 192), "fire8": (64, 256, 256), "fire9": (64, 256, 256),
}
VERSIONS = {
    # conv1 (outputs, kernel), Fire modules after which a max pool follows, conv10 pad
    "1.0": {"conv1": (96, 7), "pool_after": ("conv1", "fire4", "fire8"), "conv10_pad": 1},
    "1.1": {"conv1": (64, 3), "pool_after": ("conv1", "fire3", "fire5"), "conv10_pad": 0},
}


def conv(name: str, bottom: str, outputs: int, kernel: int, stride: int = 1, pad: int = 0) -> str:
    extra = (f"\n    stride: {stride}" if stride != 1 else "") + (f"\n    pad: {pad}" if pad else "")
    return (f'layer {{\n  name: "{name}"\n  type: "Convolution"\n  bottom: "{bottom}"\n  top: "{name}"\n'
            f"  convolution_param {{\n    num_output: {outputs}\n    kernel_size: {kernel}{extra}\n  }}\n}}\n")


def relu(name: str, blob: str) -> str:
    return f'layer {{\n  name: "{name}"\n  type: "ReLU"\n  bottom: "{blob}"\n  top: "{blob}"\n}}\n'


def max_pool(name: str, bottom: str) -> str:
    return (f'layer {{\n  name: "{name}"\n  type: "Pooling"\n  bottom: "{bottom}"\n  top: "{name}"\n'
            "  pooling_param {\n    pool: MAX\n    kernel_size: 3\n    stride: 2\n  }\n}\n")


def fire(name: str, bottom: str, s1x1: int, e1x1: int, e3x3: int) -> str:
    return "".join([
        conv(f"{name}/squeeze1x1", bottom, s1x1, 1), relu(f"{name}/relu_squeeze1x1", f"{name}/squeeze1x1"),
        conv(f"{name}/expand1x1", f"{name}/squeeze1x1", e1x1, 1),
        relu(f"{name}/relu_expand1x1", f"{name}/expand1x1"),
        conv(f"{name}/expand3x3", f"{name}/squeeze1x1", e3x3, 3, pad=1),
        relu(f"{name}/relu_expand3x3", f"{name}/expand3x3"),
        f'layer {{\n  name: "{name}/concat"\n  type: "Concat"\n  bottom: "{name}/expand1x1"\n'
        f'  bottom: "{name}/expand3x3"\n  top: "{name}/concat"\n}}\n',
    ])


def squeezenet(version: str) -> str:
    spec = VERSIONS[version]
    outputs, kernel = spec["conv1"]
    parts = [f'name: "SqueezeNet_v{version}"\n',
             'layer {\n  name: "data"\n  type: "Input"\n  top: "data"\n'
             "  input_param { shape { dim: 1 dim: 3 dim: 227 dim: 227 } }\n}\n",
             conv("conv1", "data", outputs, kernel, stride=2), relu("relu_conv1", "conv1")]
    blob = "conv1"
    for name, channels in [("conv1", None), *FIRES.items()]:
        if channels is not None:
            parts.append(fire(name, blob, *channels))
            blob = f"{name}/concat"
        if name in spec["pool_after"]:
            pool = "pool1" if name == "conv1" else f"pool{name[-1]}"
            parts.append(max_pool(pool, blob))
            blob = pool
    parts += [
        f'layer {{\n  name: "drop9"\n  type: "Dropout"\n  bottom: "{blob}"\n  top: "{blob}"\n'
        "  dropout_param { dropout_ratio: 0.5 }\n}\n",
        conv("conv10", blob, 1000, 1, pad=spec["conv10_pad"]), relu("relu_conv10", "conv10"),
        'layer {\n  name: "pool10"\n  type: "Pooling"\n  bottom: "conv10"\n  top: "pool10"\n'
        "  pooling_param {\n    pool: AVE\n    global_pooling: true\n  }\n}\n",
        'layer {\n  name: "prob"\n  type: "Softmax"\n  bottom: "pool10"\n  top: "prob"\n}\n',
    ]
    return "".join(parts)


if __name__ == "__main__":
    for version in VERSIONS:
        folder = HERE / f"squeezenet_v{version}"
        folder.mkdir(exist_ok=True)
        (folder / "deploy.prototxt").write_text(squeezenet(version))
        print(f"wrote {folder / 'deploy.prototxt'}")
