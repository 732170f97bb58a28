# gallery: a CNN whose forward reuses one self.relu after conv1, conv2 and fc1; conv1's bias starts so negative that every unit is dead
# steps: 150
# layers: conv1 (Conv2d 1→8), conv2 (Conv2d 8→16), fc1 (Linear 144→32), fc2 (Linear 32→2)
# raises: dead-units@conv1
# allows: dead-units@fc1, vanishing-gradient@conv1 (consequences: behind a dead conv1 every input looks the same, and conv1 gets no gradient)
import torch
from torch import nn


class SharedReluNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(16 * 3 * 3, 32)
        self.fc2 = nn.Linear(32, 2)
        with torch.no_grad():
            self.conv1.bias.fill_(-50.0)  # every conv1 unit is negative on every input: dead from the start

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x) + 0.1))
        return self.fc2(self.relu(self.fc1(x.flatten(1))))


torch.manual_seed(11)
imgs = torch.rand(1024, 1, 12, 12)
labels = (imgs[:, 0, :6].mean((1, 2)) > imgs[:, 0, 6:].mean((1, 2))).long()
model = SharedReluNet()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(150):
    i = (step * 64) % 1024
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(imgs[i:i + 64]), labels[i:i + 64])
    loss.backward()
    optimizer.step()
print("loss", loss.item())
