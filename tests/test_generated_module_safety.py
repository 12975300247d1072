"""Layer, blob and net names come from strangers' files: the generated PyTorch module must stay safe
to import and correct whatever they contain."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from converter import pipeline
from converter.caffe.synthetic import write_synthetic_weights

HOSTILE = [
    "x'); import os; os.system('touch PWNED') #",
    '"""; import os; os.system("touch PWNED"); """',
    "__import__('os').system('touch PWNED')",
    "a\nb",
    "class",
    "1abc",
    "ñame/ünïcode",
    "layers",
]


def test_hostile_names_generate_a_safe_working_module(tmp_path):
    net_name = HOSTILE[1].replace('"', '\\"')
    lines = [f'name: "{net_name}"\n', 'input: "data"\ninput_shape { dim: 1 dim: 2 dim: 5 dim: 5 }\n']
    blob = "data"
    for i, name in enumerate(HOSTILE):
        escaped = name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        kind = "Convolution" if i % 2 == 0 else "ReLU"
        param = " convolution_param { num_output: 2 kernel_size: 1 }" if kind == "Convolution" else ""
        top = f"{escaped}_out"
        lines.append(f'layer {{ name: "{escaped}" type: "{kind}" bottom: "{blob}" top: "{top}"{param} }}\n')
        blob = top
    prototxt = tmp_path / "evil.prototxt"
    prototxt.write_text("".join(lines))
    weights = tmp_path / "evil.caffemodel"
    write_synthetic_weights(prototxt, weights)

    conversion = pipeline.convert(prototxt, weights)
    pipeline.emit(conversion, formats=("pytorch",))
    out = tmp_path / "out"
    out.mkdir()
    pipeline.save(conversion, out, "evil")
    assert conversion.net.name.startswith('"""')

    script = """
import sys, numpy, torch
sys.path.insert(0, "out")
import evil
net = [v for v in vars(evil).values() if isinstance(v, type) and issubclass(v, torch.nn.Module)
       and v.__module__ == "evil"][-1]()
net.load_state_dict(torch.load("out/evil.pth", weights_only=True))
y = net(torch.ones(1, 2, 5, 5))
print(tuple(y.shape))
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(1, 2, 5, 5)"
    assert not (tmp_path / "PWNED").exists() and not (out / "PWNED").exists()

    # Still correct: the chain is 1x1 convolutions and ReLUs, computed here in closed form.
    x = np.ones((1, 2, 5, 5), np.float32)
    for layer in conversion.net.layers:
        if layer.type == "Convolution":
            w, b = layer.blobs
            x = np.einsum("oc,nchw->nohw", w[:, :, 0, 0], x) + b.reshape(1, -1, 1, 1)
        else:
            x = np.maximum(x, 0)
    import torch

    from converter.emit.torch import load_module

    y = load_module(conversion.torch_export)(torch.ones(1, 2, 5, 5)).detach().numpy()
    np.testing.assert_allclose(y, x, rtol=1e-5, atol=1e-5)
