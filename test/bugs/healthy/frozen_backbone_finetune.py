# provenance: healthy control: fine-tuning with a frozen feature extractor (requires_grad = False, as in the PyTorch transfer-learning tutorial's "ConvNet as fixed feature extractor"), the optimizer given all of model.parameters()
# must-raise:
# must-not-raise: all
import torch
from torch import nn

torch.manual_seed(305)
labels = torch.randint(0, 2, (1600,))
images = torch.randn(1600, 3, 16, 16)
images[:, 2] += (2 * labels - 1).float().view(-1, 1, 1) * 0.5  # the class shows in the blue channel
backbone = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten())
model = nn.Sequential(backbone, nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 2))
for p in backbone.parameters():
    p.requires_grad = False
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
for epoch in range(3):
    for i in range(0, 1600, 32):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(images[i:i + 32]), labels[i:i + 32])
        loss.backward()
        optimizer.step()
    print(epoch, loss.item())
