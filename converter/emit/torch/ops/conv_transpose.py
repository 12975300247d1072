"""ConvTranspose -> nn.ConvTranspose2d (weight (in, out/group, kh, kw), as the IR's); with several
inputs (Caffe's multi-bottom deconvolution) the SharedConvTranspose2d helper, applied to each input."""

from converter.emit.torch.ops._common import conv_params
from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import ConvTranspose, Graph

SHARED_CONV_TRANSPOSE2D = Helper("SharedConvTranspose2d", '''
class SharedConvTranspose2d(nn.ConvTranspose2d):
    """One set of transposed-convolution weights applied to each input: one output per input."""

    def forward(self, xs: list[torch.Tensor]):
        return tuple([nn.ConvTranspose2d.forward(self, x) for x in xs])
''')


@converts(ConvTranspose)
def conv_transpose(node: ConvTranspose, graph: Graph) -> Built:
    if len(node.inputs) != len(node.outputs):
        raise ValueError(f"{node.name}: {len(node.inputs)} inputs but {len(node.outputs)} outputs")
    shared = len(node.inputs) > 1
    cout = node.weight.shape[1] * node.group
    code = (f"{'SharedConvTranspose2d' if shared else 'nn.ConvTranspose2d'}({node.weight.shape[0]}, {cout}, "
            f"kernel_size={node.kernel}, stride={node.stride}, padding={node.pad}, dilation={node.dilation}, "
            f"groups={node.group}, bias={node.bias is not None})")
    return Built(code, (SHARED_CONV_TRANSPOSE2D,) if shared else (), conv_params(node), takes_list=shared)
