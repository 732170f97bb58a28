# provenance: held-out variant of constant initialisation (AutoTrainer "improper initialisation"): weights set with .data.fill_() in an init loop
# must-raise: symmetric-init
# must-not-raise: gradients-accumulate, param-not-optimized, eval-mode, shape-broadcast, double-softmax, lr-schedule-collapse, unnormalized-input
import torch
from torch import nn

torch.manual_seed(207)
x = torch.randn(600, 6)
y = (x[:, :2].norm(dim=1) > 1.2).long()
layers = [nn.Linear(6, 20), nn.ReLU(), nn.Linear(20, 20), nn.ReLU(), nn.Linear(20, 2)]
for l in layers:
    if isinstance(l, nn.Linear):
        l.weight.data.fill_(0.1)  # <-- symmetric-init
        l.bias.data.fill_(0.0)
model = nn.Sequential(*layers)
opt = torch.optim.SGD(model.parameters(), lr=0.05)
for it in range(300):
    idx = torch.randint(0, 600, (60,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
    loss.backward()
    opt.step()
print(loss.item())
