# provenance: AutoTrainer / DeepDiagnosis fault type "Improper weight initialisation" (all-zero weights); Karpathy's recipe, "verify init"
# must-raise: symmetric-init
# must-not-raise: gradients-accumulate, param-not-optimized, eval-mode, shape-broadcast, double-softmax, lr-schedule-collapse, unnormalized-input
import torch
from torch import nn

torch.manual_seed(13)
x = torch.randn(512, 4)
y = ((x[:, 0] ** 2 + x[:, 1] ** 2) > 1.5).long()
model = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 2))
for m in model.modules():
    if isinstance(m, nn.Linear):
        nn.init.zeros_(m.weight)  # <-- symmetric-init
        nn.init.zeros_(m.bias)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(300):
    idx = torch.randint(0, 512, (64,))
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
    loss.backward()
    opt.step()
print(loss.item())
