# provenance: Karpathy, "Most common neural net mistakes" (2018), #3: forgot to .zero_grad() before .backward()
# must-raise: gradients-accumulate
# must-not-raise: param-not-optimized, eval-mode, shape-broadcast, double-softmax, lr-schedule-collapse, unnormalized-input, symmetric-init
import torch
from torch import nn

torch.manual_seed(0)
x = torch.randn(512, 8)
y = (x @ torch.randn(8, 1)).tanh() + 0.05 * torch.randn(512, 1)

model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
loss_fn = nn.MSELoss()

for epoch in range(10):
    for i in range(0, 512, 32):
        xb, yb = x[i:i + 32], y[i:i + 32]
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()  # <-- gradients-accumulate
    print(f"epoch {epoch} loss {loss.item():.4f}")
