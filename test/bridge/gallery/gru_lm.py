# gallery: a GRU language model (embedding, two-layer GRU, output projection), Adam, next-token cross-entropy
# steps: 60
# layers: embed (Embedding 40→32), rnn (GRU 32→64), out (Linear 64→40)
# raises: none
import torch
from torch import nn


class GRULM(nn.Module):
    def __init__(self, vocab=40, d=32, hidden=64):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.rnn = nn.GRU(d, hidden, num_layers=2, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, tokens):
        h, _ = self.rnn(self.embed(tokens))
        return self.out(h)


torch.manual_seed(13)
# A corpus with structure: each token is mostly the previous one plus one, modulo the vocabulary.
start = torch.randint(0, 40, (256, 1))
noise = (torch.rand(256, 21) < 0.1).long() * torch.randint(0, 40, (256, 21))
corpus = (start + torch.arange(21) + noise) % 40
lm = GRULM()
optimizer = torch.optim.Adam(lm.parameters(), lr=3e-3)
for step in range(60):
    i = (step * 16) % 256
    batch = corpus[i:i + 16]
    optimizer.zero_grad()
    logits = lm(batch[:, :-1])
    loss = nn.functional.cross_entropy(logits.reshape(-1, 40), batch[:, 1:].reshape(-1))
    loss.backward()
    nn.utils.clip_grad_norm_(lm.parameters(), 5.0)
    optimizer.step()
print("loss", loss.item())
