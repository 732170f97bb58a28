# gallery: a small ResNet (stem, two basic blocks with BatchNorm and a projection shortcut), SGD with momentum
# steps: 60
# layers: stem (Conv2d 3→16), bn (BatchNorm2d 16), block1.conv1 (Conv2d 16), block1.bn1 (BatchNorm2d 16), block2.shortcut.0 (Conv2d 16→32), fc (Linear 32→4)
# raises: none
import torch
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class SmallResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.block1 = BasicBlock(16, 16)
        self.block2 = BasicBlock(16, 32, stride=2)
        self.fc = nn.Linear(32, 4)

    def forward(self, x):
        x = torch.relu(self.bn(self.stem(x)))
        x = self.block2(self.block1(x))
        return self.fc(x.mean((2, 3)))


torch.manual_seed(12)
imgs = torch.randn(512, 3, 8, 8)
labels = imgs[:, :, :4, :4].mean((2, 3)).argmax(1)
labels = torch.where(imgs.mean((1, 2, 3)) > 0.1, torch.full_like(labels, 3), labels)
net = SmallResNet()
optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
for step in range(60):
    i = (step * 32) % 512
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(net(imgs[i:i + 32]), labels[i:i + 32])
    loss.backward()
    optimizer.step()
print("loss", loss.item())
