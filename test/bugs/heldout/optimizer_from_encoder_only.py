# provenance: held-out variant of Islam et al. FSE'19 (optimizer built from a sub-module's parameters): the decoder is never updated
# must-raise: param-not-optimized
# must-not-raise: gradients-accumulate, eval-mode, shape-broadcast, double-softmax, lr-schedule-collapse, unnormalized-input, symmetric-init
import torch
from torch import nn


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(30, 12), nn.ReLU(), nn.Linear(12, 4))
        self.decoder = nn.Sequential(nn.Linear(4, 12), nn.ReLU(), nn.Linear(12, 30))  # <-- param-not-optimized

    def forward(self, x):
        return self.decoder(self.encoder(x))


torch.manual_seed(201)
x = torch.randn(700, 4) @ torch.randn(4, 30)
ae = AutoEncoder()
opt = torch.optim.Adam(list(ae.encoder.parameters()), lr=1e-3)
for it in range(300):
    b = x[torch.randint(0, 700, (64,))]
    opt.zero_grad()
    recon_loss = nn.functional.mse_loss(ae(b), b)
    recon_loss.backward()
    opt.step()
print(recon_loss.item())
