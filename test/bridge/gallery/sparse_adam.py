# gallery: a recommender-style model, nn.Embedding(sparse=True) trained by SparseAdam and the dense head by Adam (the pairing PyTorch's docs recommend); the table's run has no curvature to measure
# steps: 60
# layers: emb (Embedding 500→16), fc (Linear 16→4)
# env: OPTISCOPE_HESSIAN_EVERY=20 (curvature every 20 steps on both runs)
# raises: none
# infos: monitoring-limited (the SparseAdam run's probe is off, said once for the run)
import torch
from torch import nn


class Recommender(nn.Module):
    def __init__(self, items=500, d=16, classes=4):
        super().__init__()
        self.emb = nn.Embedding(items, d, sparse=True)
        self.fc = nn.Linear(d, classes)

    def forward(self, x):
        return self.fc(torch.relu(self.emb(x).mean(1)))


torch.manual_seed(4)
model = Recommender()
sparse_opt = torch.optim.SparseAdam(list(model.emb.parameters()), lr=1e-2)
dense_opt = torch.optim.Adam(model.fc.parameters(), lr=1e-2)
for step in range(60):
    x = torch.randint(0, 500, (32, 6))
    y = x[:, 0] % 4
    sparse_opt.zero_grad()
    dense_opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    sparse_opt.step()
    dense_opt.step()
print("loss", loss.item())
