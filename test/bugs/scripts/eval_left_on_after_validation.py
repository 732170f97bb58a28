# provenance: PyTorch forums, "Model.eval() and model.train() during training" (validation switches to eval and training never switches back); Humbatova et al. ICSE'20, Training > Training data / model mode
# must-raise: eval-mode
# must-not-raise: gradients-accumulate, param-not-optimized, shape-broadcast, double-softmax, lr-schedule-collapse, unnormalized-input, symmetric-init
import torch
from torch import nn

torch.manual_seed(4)
x = torch.randn(640, 20)
y = (x[:, :5].sum(1) > 0).long()
xv, yv = torch.randn(200, 20), None
yv = (xv[:, :5].sum(1) > 0).long()

model = nn.Sequential(nn.Linear(20, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 2))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
model.train()
for epoch in range(10):
    for i in range(0, 640, 64):
        opt.zero_grad()
        loss = loss_fn(model(x[i:i + 64]), y[i:i + 64])
        loss.backward()
        opt.step()
    model.eval()  # <-- eval-mode
    with torch.no_grad():
        acc = (model(xv).argmax(1) == yv).float().mean()
    print(f"epoch {epoch} val acc {acc:.3f}")
