// Training scripts the end-to-end tests put into a workspace.

// Linear regression with lr = 0.5 on features of variance 9: far past the stability edge. The model is
// built on line 7, the optimizer on line 8.
export const SCRIPT = `import torch
from torch import nn

torch.manual_seed(0)
x = 3.0 * torch.randn(256, 4)
y = x @ torch.tensor([[1.5], [-2.0], [0.5], [1.0]])
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
loss_fn = nn.MSELoss()
for step in range(40):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
`;
