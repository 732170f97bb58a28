# provenance: PyTorch forums, "UserWarning: Using a target size that is different to the input size" (MSELoss of [N,1] against [N]); Humbatova et al. ICSE'20, Model > Wrong tensor shape
# must-raise: shape-broadcast
# must-not-raise: gradients-accumulate, param-not-optimized, eval-mode, double-softmax, lr-schedule-collapse, unnormalized-input, symmetric-init, vanishing-gradient, saddle-point
import torch
from torch import nn

torch.manual_seed(6)
x = torch.randn(256, 6)
y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0, 1.0])  # shape [256]

model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
criterion = nn.MSELoss()
for step in range(300):
    idx = torch.randint(0, 256, (64,))
    opt.zero_grad()
    pred = model(x[idx])
    loss = criterion(pred, y[idx])  # <-- shape-broadcast
    loss.backward()
    opt.step()
print("final loss", loss.item())
