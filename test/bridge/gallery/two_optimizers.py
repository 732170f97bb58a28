# gallery: a feature extractor and a head, two nn.Sequential sub-networks with one optimizer each (Adam on the features, SGD on the head)
# steps: 60
# layers: feature_net.0 (Linear 20→64), feature_net.2 (Linear 64→32), head.0 (Linear 32→16), head.2 (Linear 16→3)
# raises: none
import torch
from torch import nn

torch.manual_seed(17)
x = torch.randn(960, 20)
y = (x[:, :3] @ torch.tensor([1.0, -1.0, 0.5])).gt(0).long() + (x[:, 3] > 1).long()
feature_net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
head = nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 3))
opt_features = torch.optim.Adam(feature_net.parameters(), lr=1e-3)
opt_head = torch.optim.SGD(head.parameters(), lr=0.05, momentum=0.9)
for step in range(60):
    i = (step * 48) % 960
    opt_features.zero_grad()
    opt_head.zero_grad()
    loss = nn.functional.cross_entropy(head(feature_net(x[i:i + 48])), y[i:i + 48])
    loss.backward()
    opt_features.step()
    opt_head.step()
print("loss", loss.item())
