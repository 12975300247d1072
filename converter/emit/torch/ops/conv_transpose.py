"""ConvTranspose -> nn.ConvTranspose2d (weight (in, out/group, kh, kw), as the IR's)."""

from converter.emit.torch.ops._common import conv_params
from converter.emit.torch.registry import Built, converts
from converter.ir import ConvTranspose, Graph


@converts(ConvTranspose)
def conv_transpose(node: ConvTranspose, graph: Graph) -> Built:
    cout = node.weight.shape[1] * node.group
    code = (f"nn.ConvTranspose2d({node.weight.shape[0]}, {cout}, kernel_size={node.kernel}, stride={node.stride}, "
            f"padding={node.pad}, dilation={node.dilation}, groups={node.group}, bias={node.bias is not None})")
    return Built(code, params=conv_params(node))
