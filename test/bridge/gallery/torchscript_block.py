# gallery: a residual MLP whose block is compiled with torch.jit.script (as deployment tutorials do) and trained inside an ordinary nn.Sequential: a ScriptModule takes no Python forward hooks
# steps: 60
# layers: model.0 (Linear 8→32), model.2.fc (Linear 32), model.3 (Linear 32→1)
# raises: none
# infos: monitoring-limited@model.2.fc (its dead/saturated units and NaN origin: TorchScript calls no Python forward hooks)
import torch
from torch import nn


class Residual(nn.Module):
    def __init__(self, d: int = 32):
        super().__init__()
        self.fc = nn.Linear(d, d)
        self.act = nn.Tanh()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.act(self.fc(x))


torch.manual_seed(6)
model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), torch.jit.script(Residual()), nn.Linear(32, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
w = torch.randn(8, 1)
for step in range(60):
    x = torch.randn(64, 8)
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(x), torch.tanh(x @ w))
    loss.backward()
    optimizer.step()
print("loss", loss.item())
