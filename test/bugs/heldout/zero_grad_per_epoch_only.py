# provenance: held-out variant of Karpathy #3: model.zero_grad() at the top of each epoch instead of each batch
# must-raise: gradients-accumulate
# must-not-raise: param-not-optimized, eval-mode, shape-broadcast, double-softmax, lr-schedule-collapse, unnormalized-input, symmetric-init
import torch
from torch import nn

torch.manual_seed(200)
data = [(torch.randn(32, 6), torch.randn(32, 1)) for _ in range(40)]
net = nn.Sequential(nn.Linear(6, 24), nn.Tanh(), nn.Linear(24, 1))
optim = torch.optim.RMSprop(net.parameters(), lr=1e-3)
for epoch in range(5):
    net.zero_grad()
    total = 0.0
    for xb, yb in data:
        err = ((net(xb) - yb) ** 2).mean()
        err.backward()
        optim.step()  # <-- gradients-accumulate
        total += err.item()
    print(epoch, total / len(data))
