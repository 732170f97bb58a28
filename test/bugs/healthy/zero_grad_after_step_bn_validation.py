# provenance: healthy control: a BatchNorm MLP with zero_grad(set_to_none=True) at the end of each iteration (after step), a validation pass in eval() each epoch followed by train(), and ExponentialLR stepped once per epoch
# must-raise:
# must-not-raise: all
import torch
from torch import nn

torch.manual_seed(306)
X = torch.randn(3000, 20)
Y = (X[:, :5].sum(1) > 0.3 * X[:, 5:10].sum(1)).long()
train_x, train_y, val_x, val_y = X[:2500], Y[:2500], X[2500:], Y[2500:]
model = nn.Sequential(nn.Linear(20, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.8)
for epoch in range(6):
    model.train()
    for i in range(0, 2500, 25):
        loss = nn.functional.cross_entropy(model(train_x[i:i + 25]), train_y[i:i + 25])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    scheduler.step()
    model.eval()
    with torch.no_grad():
        val = nn.functional.cross_entropy(model(val_x), val_y).item()
    print(epoch, loss.item(), val)
