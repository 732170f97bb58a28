# provenance: healthy control: a small nn.TransformerEncoder classifier with a learned positional table owned by the model (the "Attention is all you need" recipe: warmup + AdamW)
# must-raise:
# must-not-raise: all
import math

import torch
from torch import nn


class TinyTransformer(nn.Module):
    def __init__(self, vocab=50, d=32, seq=16, classes=2):
        super().__init__()
        self.pos = nn.Parameter(torch.randn(1, seq, d) * 0.02)
        self.tok = nn.Embedding(vocab, d)
        layer = nn.TransformerEncoderLayer(d, nhead=4, dim_feedforward=64, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        h = self.tok(x) * math.sqrt(self.tok.embedding_dim) + self.pos
        return self.head(self.encoder(h).mean(1))


torch.manual_seed(102)
x = torch.randint(0, 50, (1024, 16))
y = ((x == 7).sum(1) > (x == 3).sum(1)).long()
model = TinyTransformer()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
warmup = 20
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup))
for epoch in range(4):
    model.train()
    for i in range(0, 1024, 32):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x[i:i + 32]), y[i:i + 32])
        loss.backward()
        opt.step()
        sched.step()
    print(epoch, loss.item())
