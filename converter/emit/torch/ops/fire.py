"""Fire -> the Fire helper, torchvision's Fire: attributes squeeze, expand1x1, expand3x3 (each a
Conv2d followed by its ReLU), so its state_dict keys are torchvision's. Its convolutions always have
a bias, as torchvision's do: a part without one gets zeros."""

import numpy as np

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Fire, Graph

FIRE = Helper("Fire", '''
class Fire(nn.Module):
    """SqueezeNet's Fire module: squeeze 1x1, then expand 1x1 and 3x3 concatenated."""

    def __init__(self, inplanes, squeeze_planes, expand1x1_planes, expand3x3_planes):
        super().__init__()
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)
''')


@converts(Fire)
def fire(node: Fire, graph: Graph) -> Built:
    params = {}
    for part, conv in (("squeeze", node.squeeze), ("expand1x1", node.expand1x1), ("expand3x3", node.expand3x3)):
        params[f"{part}.weight"] = conv.weight
        params[f"{part}.bias"] = conv.bias if conv.bias is not None else np.zeros(conv.out_channels, np.float32)
    cin = node.squeeze.weight.shape[1]
    return Built(f"Fire({cin}, {node.s1x1}, {node.e1x1}, {node.e3x3})", (FIRE,), params)
