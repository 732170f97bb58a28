# provenance: healthy control: the PyTorch MNIST example's shape (Conv-BN-ReLU, Dropout, Adam, train()/eval() around validation), on synthetic images
# must-raise:
# must-not-raise: all
import torch
from torch import nn

torch.manual_seed(100)
imgs = torch.randn(512, 1, 12, 12)
labels = (imgs[:, 0, :6].mean((1, 2)) > imgs[:, 0, 6:].mean((1, 2))).long()
val_imgs, val_labels = imgs[448:], labels[448:]
model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Dropout(0.25), nn.Linear(16 * 3 * 3, 2),
)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.CrossEntropyLoss()
for epoch in range(6):
    model.train()
    for i in range(0, 448, 32):
        optimizer.zero_grad()
        loss = criterion(model(imgs[i:i + 32]), labels[i:i + 32])
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        acc = (model(val_imgs).argmax(1) == val_labels).float().mean().item()
    print(f"epoch {epoch} loss {loss.item():.3f} val acc {acc:.3f}")
