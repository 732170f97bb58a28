# provenance: held-out variant of the per-batch scheduler bug: ExponentialLR(gamma=0.9), meant per epoch, stepped every iteration
# must-raise: lr-schedule-collapse
# must-not-raise: gradients-accumulate, param-not-optimized, eval-mode, shape-broadcast, double-softmax, unnormalized-input, symmetric-init
import torch
from torch import nn

torch.manual_seed(205)
X = torch.randn(3000, 12)
Y = (X[:, :6].prod(1) > 0).long()
model = nn.Sequential(nn.Linear(12, 96), nn.ReLU(), nn.Linear(96, 2))
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
decay = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
for epoch in range(4):
    for i in range(0, 3000, 30):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(X[i:i + 30]), Y[i:i + 30])
        loss.backward()
        opt.step()
        decay.step()  # <-- lr-schedule-collapse
    print(epoch, loss.item())
