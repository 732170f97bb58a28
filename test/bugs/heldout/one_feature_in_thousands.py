# provenance: held-out variant of unnormalised inputs (DeepDiagnosis "Unnormalized training data"): an income column in the tens of thousands among standardised features
# must-raise: unnormalized-input
# must-not-raise: gradients-accumulate, param-not-optimized, eval-mode, shape-broadcast, double-softmax, lr-schedule-collapse, symmetric-init
import torch
from torch import nn

torch.manual_seed(206)
age = torch.randn(1000, 1)
score = torch.randn(1000, 1)
income = torch.rand(1000, 1) * 90000 + 10000
features = torch.cat([age, income, score], dim=1)
label = ((age + score) > 0).float()
model = nn.Sequential(nn.Linear(3, 16), nn.Sigmoid(), nn.Linear(16, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
bce = nn.BCEWithLogitsLoss()
dataset = torch.utils.data.TensorDataset(features, label)
loader = torch.utils.data.DataLoader(dataset, batch_size=50, shuffle=True)
for epoch in range(5):
    for xb, yb in loader:
        opt.zero_grad()
        loss = bce(model(xb), yb)  # <-- unnormalized-input
        loss.backward()
        opt.step()
    print(epoch, loss.item())
