# provenance: PyTorch forums, "Training loss stuck, BatchNorm running stats": model.eval() copied from inference code above the training loop
# must-raise: eval-mode
# must-not-raise: gradients-accumulate, param-not-optimized, shape-broadcast, double-softmax, lr-schedule-collapse, unnormalized-input, symmetric-init
import torch
from torch import nn

torch.manual_seed(5)
imgs = torch.randn(256, 1, 12, 12)
labels = (imgs[:, 0, :6].mean((1, 2)) > imgs[:, 0, 6:].mean((1, 2))).long()

model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Dropout(0.3), nn.Linear(8 * 6 * 6, 2),
)
model.eval()  # <-- eval-mode
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
for epoch in range(6):
    for i in range(0, 256, 32):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(imgs[i:i + 32]), labels[i:i + 32])
        loss.backward()
        optimizer.step()
    print(epoch, loss.item())
