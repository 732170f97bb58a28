# provenance: Islam et al. FSE'19 (wrong activation before the loss); DeepDiagnosis fault type "Wrong activation in the last layer"
# must-raise: double-softmax
# must-not-raise: gradients-accumulate, param-not-optimized, eval-mode, shape-broadcast, lr-schedule-collapse, unnormalized-input, symmetric-init
import torch
import torch.nn.functional as F
from torch import nn


class MLP(nn.Module):
    def __init__(self, d_in, n_cls):
        super().__init__()
        self.hidden = nn.Linear(d_in, 128)
        self.out = nn.Linear(128, n_cls)

    def forward(self, x):
        h = F.relu(self.hidden(x))
        return F.softmax(self.out(h), dim=-1)  # <-- double-softmax


torch.manual_seed(8)
x = torch.randn(2048, 32)
w = torch.randn(32, 10)
y = (x @ w).argmax(1)
model = MLP(32, 10)
opt = torch.optim.SGD(model.parameters(), lr=0.5)
for step in range(200):
    idx = torch.randint(0, 2048, (128,))
    logits = model(x[idx])
    loss = F.cross_entropy(logits, y[idx])
    opt.zero_grad()
    loss.backward()
    opt.step()
print(loss.item())
