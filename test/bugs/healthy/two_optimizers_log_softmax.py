# provenance: healthy control: encoder and classifier trained by two optimizers (one param set each), log_softmax + NLLLoss (the correct pairing), ReduceLROnPlateau
# must-raise:
# must-not-raise: all
import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(105)
x = torch.randn(1200, 20)
y = (x[:, :3] @ torch.tensor([1.0, -1.0, 0.5])).gt(0).long() + (x[:, 3] > 1).long()
encoder = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
classifier = nn.Linear(32, 3)
opt_enc = torch.optim.Adam(encoder.parameters(), lr=1e-3)
opt_cls = torch.optim.SGD(classifier.parameters(), lr=0.05, momentum=0.9)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt_cls, patience=2)
for epoch in range(8):
    for i in range(0, 1200, 40):
        opt_enc.zero_grad()
        opt_cls.zero_grad()
        loss = F.nll_loss(F.log_softmax(classifier(encoder(x[i:i + 40])), dim=1), y[i:i + 40])
        loss.backward()
        opt_enc.step()
        opt_cls.step()
    plateau.step(loss.item())
    print(epoch, loss.item())
