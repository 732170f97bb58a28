# provenance: Karpathy, "A Recipe for Training Neural Networks" (2019), become one with the data / normalise inputs; DeepDiagnosis fault type "Unnormalized training data"
# must-raise: unnormalized-input
# must-not-raise: gradients-accumulate, param-not-optimized, eval-mode, shape-broadcast, double-softmax, lr-schedule-collapse, symmetric-init
import torch
from torch import nn

torch.manual_seed(11)
n = 1024
sqft = torch.rand(n, 1) * 3000 + 500
year = torch.rand(n, 1) * 70 + 1950
rooms = torch.randint(1, 7, (n, 1)).float()
X = torch.cat([sqft, year, rooms], 1)
price = (sqft * 0.2 + (year - 1950) * 1.5 + rooms * 10) / 100

model = nn.Sequential(nn.Linear(3, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(10):
    for i in range(0, n, 64):
        opt.zero_grad()
        out = model(X[i:i + 64])  # <-- unnormalized-input
        loss = nn.functional.mse_loss(out, price[i:i + 64])
        loss.backward()
        opt.step()
    print(epoch, loss.item())
