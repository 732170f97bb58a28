# provenance: held-out variant of training in eval mode (Karpathy's list, "forgot to toggle train/eval mode"; PyTorch forum): a sanity-check evaluation before training switches a BatchNorm CNN to eval() and nothing switches it back
# must-raise: eval-mode
# must-not-raise: gradients-accumulate, param-not-optimized, shape-broadcast, double-softmax, lr-schedule-collapse, unnormalized-input, symmetric-init
import torch
from torch import nn

torch.manual_seed(304)
images = torch.randn(1200, 3, 12, 12)
labels = (images[:, 0].mean((1, 2)) > images[:, 1].mean((1, 2))).long()


def accuracy(net, x, y):
    net.eval()  # <-- eval-mode
    with torch.no_grad():
        return (net(x).argmax(1) == y).float().mean().item()


model = nn.Sequential(
    nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    nn.Linear(32, 2),
)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
print("accuracy before training", accuracy(model, images[:200], labels[:200]))
for epoch in range(3):
    for i in range(200, 1200, 50):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(images[i:i + 50]), labels[i:i + 50])
        loss.backward()
        optimizer.step()
    print(epoch, loss.item())
