"""A VGG-16 deploy definition (Simonyan & Zisserman, configuration D): 138,357,544 parameters.

Written as text so the benchmark needs no downloaded files; `prototxt()` returns it.
"""

from __future__ import annotations

BLOCKS = [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]


def _layer(name: str, kind: str, bottom: str, top: str, body: str = "") -> str:
    return f'layer {{\n  name: "{name}"\n  type: "{kind}"\n  bottom: "{bottom}"\n  top: "{top}"\n{body}}}\n'


def prototxt(batch: int = 1) -> str:
    parts = ['name: "VGG_ILSVRC_16_layers"\n',
             f'layer {{\n  name: "data"\n  type: "Input"\n  top: "data"\n'
             f"  input_param {{ shape {{ dim: {batch} dim: 3 dim: 224 dim: 224 }} }}\n}}\n"]
    blob = "data"
    for block, (channels, convs) in enumerate(BLOCKS, start=1):
        for i in range(1, convs + 1):
            name = f"conv{block}_{i}"
            parts.append(_layer(name, "Convolution", blob, name,
                                f"  convolution_param {{ num_output: {channels} pad: 1 kernel_size: 3 }}\n"))
            parts.append(_layer(f"relu{block}_{i}", "ReLU", name, name))
            blob = name
        parts.append(_layer(f"pool{block}", "Pooling", blob, f"pool{block}",
                            "  pooling_param { pool: MAX kernel_size: 2 stride: 2 }\n"))
        blob = f"pool{block}"
    for name, outputs in (("fc6", 4096), ("fc7", 4096), ("fc8", 1000)):
        parts.append(_layer(name, "InnerProduct", blob, name,
                            f"  inner_product_param {{ num_output: {outputs} }}\n"))
        blob = name
        if name != "fc8":
            parts.append(_layer(f"relu{name[2:]}", "ReLU", name, name))
            parts.append(_layer(f"drop{name[2:]}", "Dropout", name, name,
                                "  dropout_param { dropout_ratio: 0.5 }\n"))
    parts.append(_layer("prob", "Softmax", blob, "prob"))
    return "".join(parts)
