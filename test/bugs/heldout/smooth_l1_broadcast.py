# provenance: held-out variant of the silent-broadcast bug (Humbatova et al. ICSE'20, wrong tensor shape): F.smooth_l1_loss of a [N] prediction against a [N,1] target
# must-raise: shape-broadcast
# must-not-raise: gradients-accumulate, param-not-optimized, eval-mode, double-softmax, lr-schedule-collapse, unnormalized-input, symmetric-init
import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(203)
feats = torch.randn(400, 7)
targets = (feats[:, :3].sum(1) * 0.5).unsqueeze(1)
lin = nn.Sequential(nn.Linear(7, 16), nn.ReLU(), nn.Linear(16, 1))
sgd = torch.optim.SGD(lin.parameters(), lr=0.05, momentum=0.9)
for it in range(250):
    idx = torch.randint(0, 400, (50,))
    pred = lin(feats[idx]).squeeze(-1)
    loss = F.smooth_l1_loss(pred, targets[idx])  # <-- shape-broadcast
    sgd.zero_grad()
    loss.backward()
    sgd.step()
print(loss.item())
