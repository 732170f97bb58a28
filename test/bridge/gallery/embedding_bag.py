# gallery: a bag-of-words text classifier with nn.EmbeddingBag (offsets, mean mode), the torchtext tutorial's model; EmbeddingBag has no second derivative
# steps: 120
# layers: embedding (EmbeddingBag 100→16), fc (Linear 16→4)
# env: OPTISCOPE_HESSIAN_EVERY=25 (curvature every 25 steps: the probe meets the missing second derivative)
# raises: none
# infos: monitoring-limited@embedding (the probe leaves the table out: no second derivative)
import torch
from torch import nn


class TextClassifier(nn.Module):
    def __init__(self, vocab=100, d=16, classes=4):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab, d, mode="mean")
        self.fc = nn.Linear(d, classes)

    def forward(self, text, offsets):
        return self.fc(self.embedding(text, offsets))


torch.manual_seed(16)
model = TextClassifier()
optimizer = torch.optim.SGD(model.parameters(), lr=2.0)
for step in range(120):
    lengths = torch.randint(3, 9, (16,))
    labels = torch.randint(0, 4, (16,))
    # Class c draws its words mostly from the band [25c, 25c + 25).
    text = torch.cat([torch.where(torch.rand(int(n)) < 0.8, torch.randint(0, 25, (int(n),)) + 25 * c, torch.randint(0, 100, (int(n),)))
                      for n, c in zip(lengths, labels)])
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)[:-1]])
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(text, offsets), labels)
    loss.backward()
    optimizer.step()
print("loss", loss.item())
