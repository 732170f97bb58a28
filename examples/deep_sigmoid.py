"""A deep network of sigmoids: the textbook vanishing-gradient case.

    npx optiscope run examples/deep_sigmoid.py

Each sigmoid multiplies the backpropagated gradient by at most 0.25, so after ten layers the first
layer receives almost nothing: Optiscope reports `vanishing-gradient` on the first layers and points
at the lines below that created them. Swapping nn.Sigmoid for nn.ReLU (and using Adam) fixes it.
"""
import torch
from torch import nn

torch.manual_seed(0)
torch.set_num_threads(1)

x = torch.randn(512, 8)
y = (x[:, :4].sum(1, keepdim=True) > 0).float()

layers = [nn.Linear(8, 32), nn.Sigmoid()]
for _ in range(9):
    layers += [nn.Linear(32, 32), nn.Sigmoid()]
layers += [nn.Linear(32, 1)]
model = nn.Sequential(*layers)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = nn.BCEWithLogitsLoss()

for step in range(300):
    idx = torch.randint(0, len(x), (64,))
    optimizer.zero_grad()
    loss = loss_fn(model(x[idx]), y[idx])
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(f"step {step}: loss {loss.item():.4f}")
