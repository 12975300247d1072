"""Conv -> nn.Conv2d, arguments left at their defaults left out; with several inputs (Caffe's
multi-bottom convolution) the SharedConv2d helper, an nn.Conv2d applied to each input in turn."""

import re

from converter.emit.torch.ops._common import conv_params
from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Conv, Graph

SHARED_CONV2D = Helper("SharedConv2d", '''
class SharedConv2d(nn.Conv2d):
    """One set of convolution weights applied to each input: one output per input."""

    def forward(self, *xs):
        return tuple(nn.Conv2d.forward(self, x) for x in xs)
''')


def _simplify(code: str) -> str:
    """Drop default arguments, and write (k, k) as k."""
    code = re.sub(r", (stride=\(1, 1\)|padding=\(0, 0\)|dilation=\(1, 1\)|groups=1|bias=True)(?=[,)])", "", code)
    return re.sub(r"\((\d+), \1\)", r"\1", code)


@converts(Conv)
def conv(node: Conv, graph: Graph) -> Built:
    if len(node.inputs) != len(node.outputs):
        raise ValueError(f"{node.name}: {len(node.inputs)} inputs but {len(node.outputs)} outputs")
    shared = len(node.inputs) > 1
    cin = node.weight.shape[1] * node.group
    code = (f"{'SharedConv2d' if shared else 'nn.Conv2d'}({cin}, {node.out_channels}, kernel_size={node.kernel}, "
            f"stride={node.stride}, padding={node.pad}, dilation={node.dilation}, groups={node.group}, "
            f"bias={node.bias is not None})")
    return Built(_simplify(code), (SHARED_CONV2D,) if shared else (), conv_params(node))
