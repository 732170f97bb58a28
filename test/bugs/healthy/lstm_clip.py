# provenance: healthy control: word-level LSTM language model in the style of pytorch/examples word_language_model (embedding, LSTM, dropout, clip_grad_norm_)
# must-raise:
# must-not-raise: all
import torch
from torch import nn


class LM(nn.Module):
    def __init__(self, vocab=100, dim=32, hidden=64):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.drop = nn.Dropout(0.2)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True)
        self.dec = nn.Linear(hidden, vocab)

    def forward(self, x):
        h, _ = self.lstm(self.drop(self.emb(x)))
        return self.dec(self.drop(h))


torch.manual_seed(101)
seq = torch.arange(0, 21000) * 7 % 100
data = seq.view(-1, 21)
model = LM()
opt = torch.optim.SGD(model.parameters(), lr=1.0)
crit = nn.CrossEntropyLoss()
for epoch in range(3):
    model.train()
    for i in range(0, data.shape[0] - 32, 32):
        batch = data[i:i + 32]
        model.zero_grad()
        logits = model(batch[:, :-1])
        loss = crit(logits.reshape(-1, 100), batch[:, 1:].reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        opt.step()
    print(epoch, loss.item())
