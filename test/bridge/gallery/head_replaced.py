# gallery: the fine-tuning tutorial's order mistake: the classifier head is replaced after the optimizer was built from model.parameters()
# steps: 60
# layers: body.0 (Linear 16→64), body.2 (Linear 64→32), fc (replaced) (Linear 32→10)
# raises: param-not-optimized@fc
import torch
from torch import nn


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc(self.body(x))


torch.manual_seed(18)
x = torch.randn(800, 16)
y = (x[:, :4] * 2).argmax(1)
model = Backbone()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
model.fc = nn.Linear(32, 4)  # <- replaced
for step in range(60):
    i = (step * 40) % 800
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(x[i:i + 40]), y[i:i + 40])
    loss.backward()
    optimizer.step()
print("loss", loss.item())
