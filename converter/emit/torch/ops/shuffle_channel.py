"""ShuffleChannel -> the ShuffleChannel helper: view channels as (group, C / group), transpose."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Graph, ShuffleChannel

SHUFFLE_CHANNEL = Helper("ShuffleChannel", '''
class ShuffleChannel(nn.Module):
    """Output channel j * group + i is input channel i * (C / group) + j."""

    def __init__(self, group):
        super().__init__()
        self.group = group

    def forward(self, x):
        n, c = x.shape[0], x.shape[1]
        return x.reshape(n, self.group, c // self.group, -1).transpose(1, 2).reshape(x.shape)
''')


@converts(ShuffleChannel)
def shuffle_channel(node: ShuffleChannel, graph: Graph) -> Built:
    return Built(f"ShuffleChannel({node.group})", (SHUFFLE_CHANNEL,))
