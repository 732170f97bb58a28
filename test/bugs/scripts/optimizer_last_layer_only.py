# provenance: Islam et al. FSE'19 (API misuse: wrong parameters passed to the optimizer); PyTorch forums, "only the last layer is learning"
# must-raise: param-not-optimized
# must-not-raise: gradients-accumulate, eval-mode, shape-broadcast, double-softmax, lr-schedule-collapse, unnormalized-input, symmetric-init
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 48)  # <-- param-not-optimized
        self.fc2 = nn.Linear(48, 1)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


torch.manual_seed(3)
x = torch.randn(400, 12)
y = torch.sin(x[:, :1] * 2) + x[:, 1:2] ** 2
net = Net()
opt = torch.optim.Adam(net.fc2.parameters(), lr=1e-2)
for step in range(300):
    idx = torch.randint(0, 400, (40,))
    opt.zero_grad()
    loss = nn.functional.mse_loss(net(x[idx]), y[idx])
    loss.backward()
    opt.step()
print(loss.item())
