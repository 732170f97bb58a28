"""A healthy run: a small MLP classifying three Gaussian blobs with Adam.

    npx optiscope run examples/healthy_adam_classifier.py

Optiscope should show a steadily falling loss, balanced gradient norms across layers and no warnings.
The script prints its own progress; Optiscope keeps that out of the event stream.
"""
import torch
from torch import nn

torch.manual_seed(0)
torch.set_num_threads(1)

# Three well separated blobs in 2-D, 300 points each.
centers = torch.tensor([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
x = torch.cat([c + torch.randn(300, 2) for c in centers])
y = torch.arange(3).repeat_interleave(300)


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(2, 32)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(32, 32)
        self.act2 = nn.ReLU()
        self.out = nn.Linear(32, 3)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.out(self.act2(self.fc2(self.act(self.fc1(inputs)))))


model = Classifier()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
loss_fn = nn.CrossEntropyLoss()

for epoch in range(10):
    perm = torch.randperm(len(x))
    for i in range(0, len(x), 64):
        idx = perm[i : i + 64]
        optimizer.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    print(f"epoch {epoch}: loss {loss.item():.4f}, accuracy {accuracy:.3f}")
