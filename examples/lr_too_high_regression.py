"""Linear regression with a learning rate far too high: every step overshoots the minimum further.

    npx optiscope run examples/lr_too_high_regression.py

Gradient descent on a quadratic is stable only while lr × curvature < 2. Here the features have
variance 9, so the curvature is about 18 and lr = 0.5 is far past the edge: the loss explodes and
Optiscope reports `lr-too-high`, pointing at the line that created the optimizer, with a suggested lr.
"""
import torch
from torch import nn

torch.manual_seed(0)
torch.set_num_threads(1)

x = 3.0 * torch.randn(256, 4)
true_w = torch.tensor([[1.5], [-2.0], [0.5], [1.0]])
y = x @ true_w + 0.1 * torch.randn(256, 1)

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
loss_fn = nn.MSELoss()

for step in range(40):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    print(f"step {step}: loss {loss.item():.4g}")
