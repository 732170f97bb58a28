# gallery: an LSTM language model with an embedding and dropout, SGD with momentum, hidden state carried across batches (detached)
# steps: 60
# layers: encoder (Embedding 30→24), lstm (LSTM 24→48), decoder (Linear 48→30)
# raises: none
import torch
from torch import nn


class LSTMLM(nn.Module):
    def __init__(self, vocab=30, d=24, hidden=48):
        super().__init__()
        self.encoder = nn.Embedding(vocab, d)
        self.drop = nn.Dropout(0.1)
        self.lstm = nn.LSTM(d, hidden, batch_first=True)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, tokens, state):
        h, state = self.lstm(self.drop(self.encoder(tokens)), state)
        return self.decoder(self.drop(h)), state


torch.manual_seed(14)
stream = (torch.arange(20 * 16 * 20) * 7 % 30).reshape(20, -1)
stream = torch.where(torch.rand(stream.shape) < 0.05, torch.randint(0, 30, stream.shape), stream)
model = LSTMLM()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
state = None
for step in range(60):
    j = (step * 12) % (stream.shape[1] - 13)
    x, y = stream[:, j:j + 12], stream[:, j + 1:j + 13]
    if state is not None:
        state = tuple(s.detach() for s in state)
    optimizer.zero_grad()
    logits, state = model(x, state)
    loss = nn.functional.cross_entropy(logits.reshape(-1, 30), y.reshape(-1))
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
print("loss", loss.item())
