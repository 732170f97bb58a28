# provenance: PyTorch forums, "NLLLoss after LogSoftmax after Softmax gives low accuracy" (nn.Softmax output fed to log_softmax + NLLLoss); Humbatova et al. ICSE'20, Model > Activation function
# must-raise: double-softmax
# must-not-raise: gradients-accumulate, param-not-optimized, eval-mode, shape-broadcast, lr-schedule-collapse, unnormalized-input, symmetric-init
import torch
from torch import nn


class TextClassifier(nn.Module):
    def __init__(self, vocab=200, dim=32, classes=4):
        super().__init__()
        self.emb = nn.EmbeddingBag(vocab, dim)
        self.fc = nn.Linear(dim, classes)
        self.probs = nn.Softmax(dim=1)  # <-- double-softmax

    def forward(self, tokens):
        return self.probs(self.fc(self.emb(tokens)))


torch.manual_seed(16)
tokens = torch.randint(0, 200, (800, 12))
labels = tokens[:, 0] % 4
model = TextClassifier()
opt = torch.optim.Adam(model.parameters(), lr=5e-3)
nll = nn.NLLLoss()
for epoch in range(10):
    for i in range(0, 800, 40):
        opt.zero_grad()
        out = model(tokens[i:i + 40])
        loss = nll(torch.log_softmax(out, dim=1), labels[i:i + 40])
        loss.backward()
        opt.step()
    print(epoch, loss.item())
