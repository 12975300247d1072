"""Conv -> nn.Conv2d, arguments left at their defaults left out; with several inputs (Caffe's
multi-bottom convolution) the SharedConv2d helper, an nn.Conv2d applied to each input in turn; with
`extra_end` (a kernel overhanging the input) the EndPaddedConv2d helper, which adds those zeros at
the bottom/right first (nn.Conv2d pads symmetrically only)."""

import re

from converter.emit.torch.ops._common import conv_params
from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Conv, Graph

SHARED_CONV2D = Helper("SharedConv2d", '''
class SharedConv2d(nn.Conv2d):
    """One set of convolution weights applied to each input of a list, each first given `end` =
    (rows, columns) more zeros at its bottom/right (what a kernel overhanging it reads): one output
    per input."""

    def __init__(self, *args, end=(0, 0), **kwargs):
        super().__init__(*args, **kwargs)
        self.end = list(end)

    def forward(self, xs: list[torch.Tensor]):
        return tuple([nn.Conv2d.forward(self, F.pad(x, [0, self.end[1], 0, self.end[0]])) for x in xs])
''')

END_PADDED_CONV2D = Helper("EndPaddedConv2d", '''
class EndPaddedConv2d(nn.Conv2d):
    """nn.Conv2d over the input with `end` = (rows, columns) more zeros at its bottom/right, which a
    kernel overhanging the input reads."""

    def __init__(self, *args, end, **kwargs):
        super().__init__(*args, **kwargs)
        self.end = list(end)

    def forward(self, x):
        return nn.Conv2d.forward(self, F.pad(x, [0, self.end[1], 0, self.end[0]]))
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
    helper = SHARED_CONV2D if shared else END_PADDED_CONV2D if node.extra_end != (0, 0) else None
    end = f", end={list(node.extra_end)}" if node.extra_end != (0, 0) else ""
    cin = node.weight.shape[1] * node.group
    code = (f"{helper.name if helper else 'nn.Conv2d'}({cin}, {node.out_channels}, kernel_size={node.kernel}, "
            f"stride={node.stride}, padding={node.pad}, dilation={node.dilation}, groups={node.group}, "
            f"bias={node.bias is not None}{end})")
    return Built(_simplify(code), (helper,) if helper else (), conv_params(node), takes_list=shared)
