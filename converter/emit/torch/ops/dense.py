"""Dense -> the Dense helper: F.linear over the dims from `axis` on, flattened."""

from converter.emit.torch.registry import Built, Helper, converts
from converter.ir import Dense, Graph

DENSE = Helper("Dense", '''
class Dense(nn.Module):
    """Fully connected over the dims from `axis` on."""

    def __init__(self, in_features, out_features, axis, bias):
        super().__init__()
        self.axis = axis
        self.weight = nn.Parameter(torch.zeros(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x):
        return F.linear(torch.flatten(x, self.axis), self.weight, self.bias)
''')


@converts(Dense)
def dense(node: Dense, graph: Graph) -> Built:
    params = {"weight": node.weight} | ({"bias": node.bias} if node.bias is not None else {})
    code = f"Dense({node.weight.shape[1]}, {node.weight.shape[0]}, {node.axis}, {node.bias is not None})"
    return Built(code, (DENSE,), params)
