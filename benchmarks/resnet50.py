"""A ResNet-50 deploy definition in the layout of He et al.'s Caffe release (convolutions without
bias, each followed by BatchNorm + Scale; the stride on branch2a; bottleneck stages of 3, 4, 6 and
3 blocks): 25.6M parameters.

Written as text so the benchmarks need no downloaded files; `prototxt()` returns it.
"""

from __future__ import annotations

STAGES = [(64, 256, 3, 1), (128, 512, 4, 2), (256, 1024, 6, 2), (512, 2048, 3, 2)]


def _layer(name: str, kind: str, bottom: str, top: str, body: str = "") -> str:
    return f'layer {{\n  name: "{name}"\n  type: "{kind}"\n  bottom: "{bottom}"\n  top: "{top}"\n{body}}}\n'


def _conv_bn(name: str, bottom: str, outputs: int, kernel: int, stride: int, pad: int, relu: bool) -> list[str]:
    parts = [_layer(name, "Convolution", bottom, name,
                    f"  convolution_param {{ num_output: {outputs} kernel_size: {kernel} stride: {stride} "
                    f"pad: {pad} bias_term: false }}\n"),
             _layer(f"bn_{name}", "BatchNorm", name, name, "  batch_norm_param { use_global_stats: true }\n"),
             _layer(f"scale_{name}", "Scale", name, name, "  scale_param { bias_term: true }\n")]
    if relu:
        parts.append(_layer(f"{name}_relu", "ReLU", name, name))
    return parts


def prototxt(batch: int = 1) -> str:
    parts = ['name: "ResNet-50"\n',
             f'layer {{\n  name: "data"\n  type: "Input"\n  top: "data"\n'
             f"  input_param {{ shape {{ dim: {batch} dim: 3 dim: 224 dim: 224 }} }}\n}}\n"]
    parts += _conv_bn("conv1", "data", 64, 7, 2, 3, relu=True)
    parts.append(_layer("pool1", "Pooling", "conv1", "pool1",
                        "  pooling_param { pool: MAX kernel_size: 3 stride: 2 }\n"))
    blob = "pool1"
    for stage, (inner, outer, blocks, stride) in enumerate(STAGES, start=2):
        for block in range(blocks):
            tag = f"{stage}{chr(ord('a') + block)}"
            first_stride = stride if block == 0 else 1
            if block == 0:
                parts += _conv_bn(f"res{tag}_branch1", blob, outer, 1, first_stride, 0, relu=False)
                shortcut = f"res{tag}_branch1"
            else:
                shortcut = blob
            parts += _conv_bn(f"res{tag}_branch2a", blob, inner, 1, first_stride, 0, relu=True)
            parts += _conv_bn(f"res{tag}_branch2b", f"res{tag}_branch2a", inner, 3, 1, 1, relu=True)
            parts += _conv_bn(f"res{tag}_branch2c", f"res{tag}_branch2b", outer, 1, 1, 0, relu=False)
            parts.append(f'layer {{\n  name: "res{tag}"\n  type: "Eltwise"\n  bottom: "{shortcut}"\n'
                         f'  bottom: "res{tag}_branch2c"\n  top: "res{tag}"\n}}\n')
            parts.append(_layer(f"res{tag}_relu", "ReLU", f"res{tag}", f"res{tag}"))
            blob = f"res{tag}"
    parts.append(_layer("pool5", "Pooling", blob, "pool5", "  pooling_param { pool: AVE kernel_size: 7 stride: 1 }\n"))
    parts.append(_layer("fc1000", "InnerProduct", "pool5", "fc1000", "  inner_product_param { num_output: 1000 }\n"))
    parts.append(_layer("prob", "Softmax", "fc1000", "prob"))
    return "".join(parts)
