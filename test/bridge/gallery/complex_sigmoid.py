# gallery: a complex-valued network (complex nn.Linear layers, as in signal processing and MRI reconstruction) with a sigmoid between them; saturation is not defined for complex outputs, Lanczos not for complex parameters, and the effective lr is per real component (as torch's optimizers update them)
# steps: 60
# layers: model.0 (Linear 8→32), model.2 (Linear 32→4)
# raises: none
# infos: monitoring-limited@model.0, monitoring-limited (saturated units: no order on complex values; the automatic curvature probe: real parameters only)
import torch
from torch import nn

torch.manual_seed(2)
model = nn.Sequential(nn.Linear(8, 32, dtype=torch.cfloat), nn.Sigmoid(), nn.Linear(32, 4, dtype=torch.cfloat))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
w = torch.randn(8, 4, dtype=torch.cfloat) * 0.3
for step in range(60):
    x = torch.randn(64, 8, dtype=torch.cfloat)
    optimizer.zero_grad()
    loss = (model(x) - x @ w).abs().pow(2).mean()
    loss.backward()
    optimizer.step()
print("loss", loss.item())
