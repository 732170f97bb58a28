# provenance: held-out variant of double softmax (Humbatova et al. ICSE'20, "wrong activation for the output layer"; Karpathy's list): a CNN whose forward returns F.softmax(..., dim=-1) into nn.CrossEntropyLoss
# must-raise: double-softmax
# must-not-raise: gradients-accumulate, param-not-optimized, eval-mode, shape-broadcast, lr-schedule-collapse, unnormalized-input, symmetric-init
import torch
import torch.nn.functional as F
from torch import nn


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 7 * 7, 4)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        return F.softmax(self.fc(x.flatten(1)), dim=-1)  # <-- double-softmax


torch.manual_seed(302)
images = torch.randn(1024, 1, 14, 14)
labels = (images[:, 0, :7, :7].mean((1, 2)) > 0).long() * 2 + (images[:, 0, 7:, 7:].mean((1, 2)) > 0).long()
net = SmallCNN()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(4):
    for i in range(0, 1024, 32):
        optimizer.zero_grad()
        loss = criterion(net(images[i:i + 32]), labels[i:i + 32])
        loss.backward()
        optimizer.step()
    print(epoch, loss.item())
