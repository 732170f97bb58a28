# gallery: a new classifier head mid-run that no optimizer is given: it receives gradients and never changes
# steps: 60
# layers: body.0 (Linear 16→64), body.2 (Linear 64→32), fc (Linear 32→10)
# relayout: 30: body.0 (Linear 16→64), body.2 (Linear 64→32), fc (replaced) (Linear 32→10)
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


torch.manual_seed(31)
x = torch.randn(800, 16)
y10 = (x[:, :4] * 2).argmax(1) + 4 * (x[:, 4] > 0).long()
model = Backbone()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
y = y10
for step in range(60):
    if step == 30:  # the second task has 4 classes
        model.fc = nn.Linear(32, 4)  # <-- param-not-optimized@fc
        y = y10 % 4
    i = (step * 40) % 800
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(x[i:i + 40]), y[i:i + 40])
    loss.backward()
    optimizer.step()
print("loss", loss.item())
