# provenance: PyTorch forums, "Why do we need to set the gradients manually to zero in pytorch?" (zero_grad called once, before the loop)
# must-raise: gradients-accumulate
# must-not-raise: param-not-optimized, eval-mode, shape-broadcast, double-softmax, lr-schedule-collapse, unnormalized-input, symmetric-init
import torch
import torch.nn.functional as F
from torch import nn


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 64)
        self.fc2 = nn.Linear(64, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


torch.manual_seed(1)
x = torch.randn(600, 10)
y = (x[:, :3].argmax(1))
net = Classifier()
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
optimizer.zero_grad()
for step in range(200):
    idx = torch.randint(0, 600, (32,))
    loss = F.cross_entropy(net(x[idx]), y[idx])
    loss.backward()
    optimizer.step()  # <-- gradients-accumulate
    if step % 50 == 0:
        print(step, loss.item())
