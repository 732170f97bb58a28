# gallery: a small MLP compiled whole with torch.jit.script (as deployment tutorials do), trained through the scripted module: its compiled forward calls no Python forward hooks of the modules it was built from
# steps: 60
# layers: mlp.fc1 (Linear 8→32), mlp.fc2 (Linear 32), mlp.fc3 (Linear 32→1)
# raises: none
# infos: monitoring-limited (dead/saturated units and NaN origin for the whole run: the compiled forward calls no Python forward hooks)
import torch
from torch import nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 32)
        self.fc2 = nn.Linear(32, 32)
        self.fc3 = nn.Linear(32, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(torch.tanh(self.fc2(torch.relu(self.fc1(x)))))


torch.manual_seed(7)
model = torch.jit.script(MLP())
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
w = torch.randn(8, 1)
for step in range(60):
    x = torch.randn(64, 8)
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(x), torch.tanh(x @ w))
    loss.backward()
    optimizer.step()
print("loss", loss.item())
