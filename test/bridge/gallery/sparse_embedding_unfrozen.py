# gallery: a bag-of-embeddings classifier with nn.Embedding(sparse=True) trained by SGD, the pretrained table frozen for the first 25 steps by a torch.no_grad island (the usual warm-up of a fine-tuning): the sparse gradients start mid-run
# steps: 60
# layers: emb (Embedding 200→16)
# env: OPTISCOPE_HESSIAN_EVERY=20 (curvature every 20 steps: the probe meets the table once it is unfrozen)
# raises: none
# infos: monitoring-limited@emb (the probe leaves the table out from step 40: a sparse gradient has no second derivative)
import torch
from torch import nn

torch.manual_seed(0)
emb = nn.Embedding(200, 16, sparse=True)
fc = nn.Linear(16, 4)
optimizer = torch.optim.SGD(list(emb.parameters()) + list(fc.parameters()), lr=0.1)
for step in range(60):
    x = torch.randint(0, 200, (32, 5))
    y = x[:, 0] % 4
    optimizer.zero_grad()
    if step < 25:
        with torch.no_grad():
            h = emb(x).mean(1)
    else:
        h = emb(x).mean(1)
    loss = nn.functional.cross_entropy(fc(torch.relu(h)), y)
    loss.backward()
    optimizer.step()
print("loss", loss.item())
