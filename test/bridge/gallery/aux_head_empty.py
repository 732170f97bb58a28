# gallery: a multi-task model whose auxiliary head is sized by a setting that is 0 in this experiment (nn.Linear(64, 0)): the empty layer has no effective learning rate to summarise
# steps: 60
# layers: body (Linear 20→64), head (Linear 64→3), aux (Linear 64→0)
# raises: none
# infos: monitoring-limited@aux (its effective learning rate cannot be summarised: no values)
import torch
from torch import nn


class MultiTask(nn.Module):
    def __init__(self, aux_classes=0):
        super().__init__()
        self.body = nn.Linear(20, 64)
        self.head = nn.Linear(64, 3)
        self.aux = nn.Linear(64, aux_classes)  # no auxiliary labels in this experiment

    def forward(self, x):
        h = torch.relu(self.body(x))
        return self.head(h), self.aux(h)


torch.manual_seed(5)
model = MultiTask()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
w = torch.randn(20, 3)
for step in range(60):
    x = torch.randn(64, 20)
    y = (x @ w).argmax(1)
    optimizer.zero_grad()
    logits, aux = model(x)
    loss = nn.functional.cross_entropy(logits, y) + aux.sum()  # an empty sum: 0
    loss.backward()
    optimizer.step()
print("loss", loss.item())
