# gallery: progressive unfreezing (fine-tuning): only the head trains at first; at step 30 the backbone is unfrozen and added to the optimizer with add_param_group, at a lower lr
# steps: 60
# layers: fc (Linear 32→10)
# relayout: 30: body.0 (Linear 16→64), body.2 (Linear 64→32), fc (Linear 32→10)
# raises: none
import torch
from torch import nn


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc(self.body(x))


torch.manual_seed(23)
x = torch.randn(800, 16)
y = (x[:, :4] * 2).argmax(1)
model = Backbone()
for p in model.body.parameters():
    p.requires_grad = False
optimizer = torch.optim.Adam(model.fc.parameters(), lr=3e-3)
for step in range(60):
    if step == 30:  # epoch 3: fine-tune the whole network
        for p in model.body.parameters():
            p.requires_grad = True
        optimizer.add_param_group({"params": model.body.parameters(), "lr": 1e-3})
    i = (step * 40) % 800
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(x[i:i + 40]), y[i:i + 40])
    loss.backward()
    optimizer.step()
print("loss", loss.item())
