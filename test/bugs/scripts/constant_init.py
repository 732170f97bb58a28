# provenance: Humbatova et al. ICSE'20, Model > Wrong weights initialisation (constant initialisation); Islam et al. FSE'19
# must-raise: symmetric-init
# must-not-raise: gradients-accumulate, param-not-optimized, eval-mode, shape-broadcast, double-softmax, lr-schedule-collapse, unnormalized-input
import torch
from torch import nn


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(5, 40)
        self.l2 = nn.Linear(40, 1)
        for layer in (self.l1, self.l2):
            nn.init.constant_(layer.weight, 0.05)  # <-- symmetric-init
            nn.init.constant_(layer.bias, 0.0)

    def forward(self, x):
        return self.l2(torch.sigmoid(self.l1(x)))


torch.manual_seed(14)
x = torch.randn(500, 5)
y = torch.sin(x[:, :1]) * x[:, 1:2]
model = Regressor()
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for step in range(300):
    idx = torch.randint(0, 500, (50,))
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(x[idx]), y[idx])
    loss.backward()
    opt.step()
print(loss.item())
