"""Layer, blob and net names come from strangers' files: the generated PyTorch module must stay safe
to import and correct whatever they contain."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import caffemodel_blobs
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

    # Still correct: the chain is 1x1 convolutions and ReLUs, computed here in closed form (on an
    # input of both signs: from ones, these weights leave every output 0, which proves nothing).
    x0 = np.random.default_rng(1).uniform(-1, 1, (1, 2, 5, 5)).astype(np.float32)
    x = x0
    blobs = caffemodel_blobs(weights)
    for i, name in enumerate(HOSTILE):
        if i % 2 == 0:
            w, b = blobs[name]
            x = np.einsum("oc,nchw->nohw", w[:, :, 0, 0], x) + b.reshape(1, -1, 1, 1)
        else:
            x = np.maximum(x, 0)
    import torch

    from converter.emit.torch import load_module

    assert np.count_nonzero(x) >= x.size // 4
    y = load_module(conversion.torch_export)(torch.from_numpy(x0)).detach().numpy()
    np.testing.assert_allclose(y, x, rtol=1e-5, atol=1e-5)


def _verify_generated(tmp_path, text: str) -> None:
    prototxt = tmp_path / "net.prototxt"
    prototxt.write_text(text)
    weights = tmp_path / "net.caffemodel"
    write_synthetic_weights(prototxt, weights)
    conversion = pipeline.convert(prototxt, weights)
    report = pipeline.run_verification(conversion, backends=("pytorch",))
    assert report.passed, report.first_failure


SHAPE = "input_shape { dim: 1 dim: 2 dim: 4 dim: 4 }\n"


def test_inputs_named_like_the_generated_intermediates(tmp_path):
    # forward(self, t0, t1): the convolution's result t0 must not overwrite the input t0 still to be read.
    _verify_generated(tmp_path, f'input: "t0"\n{SHAPE}input: "t1"\n{SHAPE}'
                      'layer { name: "a" type: "Convolution" bottom: "t1" top: "a" '
                      "convolution_param { num_output: 2 kernel_size: 1 } }\n"
                      'layer { name: "b" type: "Eltwise" bottom: "a" bottom: "t0" top: "b" }\n')


def test_layer_names_that_are_attributes_of_the_module_dict(tmp_path):
    layers = "".join(f'layer {{ name: "{n}" type: "ReLU" bottom: "{b}" top: "{n}_out" }}\n'
                     for n, b in [("training", "data"), ("keys", "training_out"), ("to", "keys_out")])
    _verify_generated(tmp_path, f'input: "data"\n{SHAPE}{layers}')


@pytest.mark.parametrize("net_name", ["f", "Dense", "Eltwise"])
def test_net_names_that_are_names_the_module_uses(tmp_path, net_name):
    _verify_generated(tmp_path, f'name: "{net_name}"\ninput: "data"\n{SHAPE}'
                      'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" '
                      "inner_product_param { num_output: 3 } }\n"
                      'layer { name: "e" type: "Eltwise" bottom: "ip" bottom: "ip" top: "e" }\n')
