# provenance: held-out variant of double softmax: probabilities computed with torch.softmax in the training loop and handed to F.cross_entropy
# must-raise: double-softmax
# must-not-raise: gradients-accumulate, param-not-optimized, eval-mode, shape-broadcast, lr-schedule-collapse, unnormalized-input, symmetric-init
import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(204)
x = torch.randn(900, 5)
y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
clf = nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Linear(32, 3))
opt = torch.optim.Adagrad(clf.parameters(), lr=0.05)
for it in range(300):
    idx = torch.randint(0, 900, (45,))
    probs = torch.softmax(clf(x[idx]), dim=1)  # <-- double-softmax
    loss = F.cross_entropy(probs, y[idx])
    opt.zero_grad()
    loss.backward()
    opt.step()
print(loss.item())
