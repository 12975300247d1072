"""Example squeeze-convert plugin: a Python layer `my_layers.Square` (y = x * x), with its own IR op.

    squeeze-convert deploy.prototxt --plugin examples/square_plugin.py

The prototxt's layer: layer { type: "Python" python_param { module: "my_layers" layer: "Square" } }
"""

from dataclasses import dataclass

from converter.caffe.layers import register
from converter.caffe.layers.common import same_shape
from converter.emit.onnx.registry import converts as onnx_converts
from converter.emit.torch.registry import Built, Helper
from converter.emit.torch.registry import converts as torch_converts
from converter.ir import Node
from converter.lift.registry import converts, io

TYPE = "my_layers.Square"  # python_param module "my_layers", layer "Square"


# 1. Caffe's semantics: top shapes and the numpy forward pass (the reference the exports are checked against).
register(TYPE, output_shapes=same_shape, forward=lambda layer, inputs: [inputs[0] * inputs[0]], in_place=True)


# 2. A new IR op (the IR has no squaring op), documented like the built-in ones.
@dataclass(kw_only=True)
class Square(Node):
    """y = x * x, element-wise."""


# 3. The lift converter: Caffe layer -> IR node.
@converts(TYPE)
def square(layer):
    return Square(**io(layer))


# 4. The emitters of the new op.
@onnx_converts(Square)
def square_onnx(node, ctx):
    ctx.node("Mul", [node.inputs[0], node.inputs[0]], node.outputs, node.name)


SQUARE_MODULE = Helper("Square", '''
class Square(nn.Module):
    """y = x * x."""

    def forward(self, x):
        return x * x
''')


@torch_converts(Square)
def square_torch(node, graph):
    return Built("Square()", (SQUARE_MODULE,))
