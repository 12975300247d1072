"""Conv -> nn.Conv2d, arguments left at their defaults left out."""

import re

from converter.emit.torch.ops._common import conv_params
from converter.emit.torch.registry import Built, converts
from converter.ir import Conv, Graph


def _simplify(code: str) -> str:
    """Drop default arguments, and write (k, k) as k."""
    code = re.sub(r", (stride=\(1, 1\)|padding=\(0, 0\)|dilation=\(1, 1\)|groups=1|bias=True)(?=[,)])", "", code)
    return re.sub(r"\((\d+), \1\)", r"\1", code)


@converts(Conv)
def conv(node: Conv, graph: Graph) -> Built:
    cin = node.weight.shape[1] * node.group
    code = (f"nn.Conv2d({cin}, {node.out_channels}, kernel_size={node.kernel}, stride={node.stride}, "
            f"padding={node.pad}, dilation={node.dilation}, groups={node.group}, bias={node.bias is not None})")
    return Built(_simplify(code), params=conv_params(node))
