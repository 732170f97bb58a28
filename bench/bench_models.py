"""The bench's PyTorch workloads, defined once: bench/bridge_train.py (the user's side of the bridge
benchmark) and bench/detail_cost.py (the detailed steps' cost model) train the same models.

CNN: two 3×3 convolutions (8 and 16 channels, ReLU, max-pooling) and a linear head on 1×28×28 inputs,
batch 64. TF: a 2-layer Transformer encoder (d_model 64, 4 heads, feed-forward 128) over 16 tokens of
a 100-word vocabulary, mean-pooled into a linear head, batch 32. W1–W3: the MLPs of bench/workloads.ts.
D8 (8 hidden layers of 64) and P90 (256-256-96-10, 91,000 parameters): the detailed steps' cost model's
other shapes. All these have fewer than 100,000 parameters but W3. The governor's cost model (governed
models: 100,000 parameters or more) is fitted on W3 and M120 (512-192-96-10, 118,000 parameters),
M540 (784-512-256-10, 536,000), D10 (256 wide, 10 linear layers, 595,000), M1600 (784-1024-768-10,
1.6M) and CNN120 (CNN with 32 and 64 channels and a 64-unit hidden layer, 122,000).
"""
from typing import List, Tuple

import torch
import torch.nn as nn

MLPS = {
    "W1": ([2, 16, 16, 1], nn.Tanh, 32),
    "W2": ([64, 128, 128, 10], nn.Tanh, 64),
    "W3": ([784, 256, 128, 10], nn.ReLU, 128),
    "D8": ([64] + [64] * 8 + [10], nn.Tanh, 64),
    "P90": ([256, 256, 96, 10], nn.Tanh, 64),
    "M120": ([512, 192, 96, 10], nn.ReLU, 64),
    "M540": ([784, 512, 256, 10], nn.ReLU, 128),
    "D10": ([256] * 10 + [10], nn.ReLU, 64),
    "M1600": ([784, 1024, 768, 10], nn.ReLU, 128),
}


class Encoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(100, 64)
        layer = nn.TransformerEncoderLayer(64, 4, dim_feedforward=128, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2)
        self.head = nn.Linear(64, 10)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(tokens)).mean(dim=1))


def build(w: str) -> Tuple[nn.Module, int, torch.Tensor, torch.Tensor]:
    """(model, batch size, 1,024 inputs, their targets) of workload `w`, drawn from torch's generator as
    seeded by the caller (the model first, then the data)."""
    if w == "CNN":
        model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(16 * 5 * 5, 10))
        return model, 64, torch.randn(1024, 1, 28, 28), torch.randint(0, 10, (1024,))
    if w == "CNN120":
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(64 * 5 * 5, 64), nn.ReLU(), nn.Linear(64, 10))
        return model, 64, torch.randn(1024, 1, 28, 28), torch.randint(0, 10, (1024,))
    if w == "TF":
        return Encoder(), 32, torch.randint(0, 100, (1024, 16)), torch.randint(0, 10, (1024,))
    sizes, act, batch = MLPS[w]
    layers: List[nn.Module] = []
    for i in range(1, len(sizes)):
        layers.append(nn.Linear(sizes[i - 1], sizes[i]))
        if i < len(sizes) - 1:
            layers.append(act())
    x = torch.randn(1024, sizes[0])
    y = torch.randint(0, sizes[-1], (1024,)) if sizes[-1] > 1 else torch.randn(1024, 1)
    return nn.Sequential(*layers), batch, x, y
