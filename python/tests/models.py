"""Models shared by the cadence tests (test_detail_spacing, test_governor)."""
from torch import nn


def mlp(sizes, activation=nn.Tanh):
    """An MLP of Linear layers of `sizes` with `activation` between them (none after the last)."""
    layers = []
    for i in range(1, len(sizes)):
        layers.append(nn.Linear(sizes[i - 1], sizes[i]))
        if i < len(sizes) - 1:
            layers.append(activation())
    return nn.Sequential(*layers)
