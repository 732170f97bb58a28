# provenance: held-out variant of the eval-mode bug: net.train(False) in a helper that evaluates, called inside the loop every 10 iterations
# must-raise: eval-mode
# must-not-raise: gradients-accumulate, param-not-optimized, shape-broadcast, double-softmax, lr-schedule-collapse, unnormalized-input, symmetric-init
import torch
from torch import nn


def evaluate(net, xs, ys):
    net.train(False)  # <-- eval-mode
    with torch.no_grad():
        return nn.functional.mse_loss(net(xs), ys).item()


torch.manual_seed(202)
xs = torch.randn(300, 10)
ys = xs[:, :2].sum(1, keepdim=True)
net = nn.Sequential(nn.Linear(10, 50), nn.ReLU(), nn.Dropout(0.4), nn.Linear(50, 1))
opt = torch.optim.SGD(net.parameters(), lr=0.01)
net.train()
for it in range(200):
    idx = torch.randint(0, 300, (30,))
    opt.zero_grad()
    loss = nn.functional.mse_loss(net(xs[idx]), ys[idx])
    loss.backward()
    opt.step()
    if it % 10 == 9:
        print(it, evaluate(net, xs, ys))
