# provenance: held-out variant of the per-batch scheduler bug (PyTorch forum: "CosineAnnealingLR lr goes to zero after a few iterations"): CosineAnnealingLR with T_max counted in epochs, stepped every batch
# must-raise: lr-schedule-collapse
# must-not-raise: gradients-accumulate, param-not-optimized, eval-mode, shape-broadcast, double-softmax, unnormalized-input, symmetric-init
import torch
from torch import nn

torch.manual_seed(303)
X = torch.randn(4000, 16)
Y = ((X[:, :4].sum(1) * X[:, 4:8].sum(1)) > 0).long()
model = nn.Sequential(nn.Linear(16, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
epochs = 30
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
for epoch in range(epochs):
    for i in range(0, 4000, 40):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(X[i:i + 40]), Y[i:i + 40])
        loss.backward()
        optimizer.step()
        scheduler.step()  # <-- lr-schedule-collapse
    print(epoch, loss.item())
