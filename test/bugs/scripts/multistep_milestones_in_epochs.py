# provenance: PyTorch forums, "MultiStepLR milestones are counted in scheduler.step() calls" (epoch milestones, stepped per batch); both the creation line and the step() line are lines to change
# must-raise: lr-schedule-collapse
# must-not-raise: gradients-accumulate, param-not-optimized, eval-mode, shape-broadcast, double-softmax, unnormalized-input, symmetric-init
import torch
from torch import nn

torch.manual_seed(10)
x = torch.randn(1500, 8)
y = torch.sin(3 * x[:, :1]) + 0.5 * x[:, 1:2]
model = nn.Sequential(nn.Linear(8, 64), nn.Tanh(), nn.Linear(64, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
sched = torch.optim.lr_scheduler.MultiStepLR(  # <-- lr-schedule-collapse
    opt, milestones=[3, 6, 9, 12, 15], gamma=0.1)
for epoch in range(30):
    for i in range(0, 1500, 50):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x[i:i + 50]), y[i:i + 50])
        loss.backward()
        opt.step()
        sched.step()  # <-- lr-schedule-collapse
    print(epoch, loss.item())
