# gallery: an nn.TransformerEncoder classifier with a learned positional table owned by the model class (nn.Parameter), AdamW with warmup
# steps: 60
# layers: OrderClassifier.pos (Parameter 1×12×32), tok (Embedding 20→32), encoder.layers.0.self_attn (MultiheadAttention 32), encoder.layers.0.linear1 (Linear 32→64), head (Linear 32→2)
# raises: none
import torch
from torch import nn


class OrderClassifier(nn.Module):
    def __init__(self, vocab=20, d=32, seq=12):
        super().__init__()
        self.pos = nn.Parameter(torch.randn(1, seq, d) * 0.02)
        self.tok = nn.Embedding(vocab, d)
        layer = nn.TransformerEncoderLayer(d, nhead=4, dim_feedforward=64, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(d, 2)

    def forward(self, tokens, padding_mask=None):
        h = self.encoder(self.tok(tokens) + self.pos, src_key_padding_mask=padding_mask)
        return self.head(h.mean(1))


torch.manual_seed(15)
x = torch.randint(0, 20, (512, 12))
y = (x[:, :6].sum(1) > x[:, 6:].sum(1)).long()  # is the first half heavier than the second: order matters
model = OrderClassifier()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 10))
mask = torch.zeros(32, 12, dtype=torch.bool)
for step in range(60):
    i = (step * 32) % 512
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x[i:i + 32], padding_mask=mask), y[i:i + 32])
    loss.backward()
    opt.step()
    sched.step()
print("loss", loss.item())
