# provenance: PyTorch forums, "StepLR scheduler.step() in the batch loop instead of the epoch loop" (lr decays per iteration)
# must-raise: lr-schedule-collapse
# must-not-raise: gradients-accumulate, param-not-optimized, eval-mode, shape-broadcast, double-softmax, unnormalized-input, symmetric-init
import torch
from torch import nn

torch.manual_seed(9)
x = torch.randn(2000, 10)
y = (x[:, 0] * x[:, 1] > 0).long()
model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)
criterion = nn.CrossEntropyLoss()
for epoch in range(5):
    for i in range(0, 2000, 20):
        optimizer.zero_grad()
        loss = criterion(model(x[i:i + 20]), y[i:i + 20])
        loss.backward()
        optimizer.step()
        scheduler.step()  # <-- lr-schedule-collapse
    print(epoch, loss.item(), scheduler.get_last_lr())
