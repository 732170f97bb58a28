# provenance: healthy control: tabular regression with standardised features, a zero-initialised output layer (a common deliberate trick) and StepLR stepped once per epoch
# must-raise:
# must-not-raise: all
import torch
from torch import nn

torch.manual_seed(104)
n = 2048
raw = torch.cat([torch.rand(n, 1) * 3000 + 500, torch.rand(n, 1) * 70 + 1950, torch.randint(1, 7, (n, 1)).float()], 1)
target = ((raw[:, :1] * 0.2 + (raw[:, 1:2] - 1950) * 1.5 + raw[:, 2:3] * 10) / 100)
mean, std = raw.mean(0), raw.std(0)
X = (raw - mean) / std
y = (target - target.mean()) / target.std()
model = nn.Sequential(nn.Linear(3, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
nn.init.zeros_(model[-1].weight)
nn.init.zeros_(model[-1].bias)
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
for epoch in range(8):
    perm = torch.randperm(n)
    for i in range(0, n, 64):
        b = perm[i:i + 64]
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(X[b]), y[b])
        loss.backward()
        opt.step()
    sched.step()
    print(epoch, loss.item())
