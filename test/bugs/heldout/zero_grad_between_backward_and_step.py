# provenance: held-out variant of the gradient-reset bugs (Islam et al. FSE'19, "wrong API usage"; a frequent PyTorch forum question "my model does not learn at all"): zero_grad() moved between backward() and step(), so every step applies a zero gradient
# must-raise: param-not-optimized
# must-not-raise: gradients-accumulate, eval-mode, shape-broadcast, double-softmax, lr-schedule-collapse, unnormalized-input, symmetric-init, saddle-point, plateau
import torch
from torch import nn

torch.manual_seed(301)
X = torch.randn(2000, 10)
Y = (X[:, 0] - 2 * X[:, 3] + 0.5 * X[:, 7] > 0).long()
model = nn.Sequential(nn.Linear(10, 64), nn.Tanh(), nn.Linear(64, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(5):
    for i in range(0, 2000, 50):
        loss = nn.functional.cross_entropy(model(X[i:i + 50]), Y[i:i + 50])
        loss.backward()
        optimizer.zero_grad()  # <-- param-not-optimized
        optimizer.step()
    print(epoch, loss.item())
