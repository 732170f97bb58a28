# provenance: Humbatova et al. ICSE'20, Model > Activation function (softmax before CrossEntropyLoss); PyTorch forums, "Do I need a softmax layer with nn.CrossEntropyLoss?"
# must-raise: double-softmax
# must-not-raise: gradients-accumulate, param-not-optimized, eval-mode, shape-broadcast, lr-schedule-collapse, unnormalized-input, symmetric-init
import torch
from torch import nn

torch.manual_seed(7)
x = torch.randn(1000, 2)
r = x.norm(dim=1)
y = (r > 1.0).long() + (r > 1.6).long()

model = nn.Sequential(
    nn.Linear(2, 64), nn.ReLU(),
    nn.Linear(64, 3),
    nn.Softmax(dim=1),  # <-- double-softmax
)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
criterion = nn.CrossEntropyLoss()
for epoch in range(20):
    perm = torch.randperm(1000)
    for i in range(0, 1000, 100):
        b = perm[i:i + 100]
        optimizer.zero_grad()
        loss = criterion(model(x[b]), y[b])
        loss.backward()
        optimizer.step()
print(loss.item())
