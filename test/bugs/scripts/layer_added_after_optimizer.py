# provenance: PyTorch forums, "New layer added to model is not updated" (a head assigned after the optimizer was built); Humbatova et al. ICSE'20, Training > Optimiser
# must-raise: param-not-optimized
# must-not-raise: gradients-accumulate, eval-mode, shape-broadcast, double-softmax, lr-schedule-collapse, unnormalized-input, symmetric-init
import torch
from torch import nn


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
        self.head = nn.Linear(32, 4)

    def forward(self, x):
        return self.head(self.body(x))


torch.manual_seed(2)
x = torch.randn(800, 16)
y = (x[:, :4] * 2).argmax(1)
model = Backbone()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
model.head = nn.Linear(32, 4)  # <-- param-not-optimized
criterion = nn.CrossEntropyLoss()
for epoch in range(8):
    for i in range(0, 800, 50):
        optimizer.zero_grad()
        loss = criterion(model(x[i:i + 50]), y[i:i + 50])
        loss.backward()
        optimizer.step()
    print(epoch, loss.item())
