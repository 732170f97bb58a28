# provenance: Humbatova et al. ICSE'20, Training > Preprocessing of training data (missing normalisation of images); PyTorch forums, "forgot ToTensor/Normalize"
# must-raise: unnormalized-input
# must-not-raise: gradients-accumulate, param-not-optimized, eval-mode, shape-broadcast, double-softmax, lr-schedule-collapse, symmetric-init
import torch
from torch import nn

torch.manual_seed(12)
imgs = torch.randint(0, 256, (320, 1, 16, 16)).float()
labels = (imgs[:, :, :8].mean((1, 2, 3)) > imgs[:, :, 8:].mean((1, 2, 3))).long()


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 8 * 8, 2)

    def forward(self, x):
        x = torch.relu(self.conv(x))
        x = nn.functional.max_pool2d(x, 2)
        return self.fc(x.flatten(1))


net = SmallCNN()
opt = torch.optim.SGD(net.parameters(), lr=0.01)
for epoch in range(5):
    for i in range(0, 320, 32):
        opt.zero_grad()
        logits = net(imgs[i:i + 32])  # <-- unnormalized-input
        loss = nn.functional.cross_entropy(logits, labels[i:i + 32])
        loss.backward()
        opt.step()
    print(epoch, loss.item())
