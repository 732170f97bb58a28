# provenance: Le, Jaitly & Hinton 2015 (IRNN: ReLU RNN with identity recurrent init) trained without gradient clipping; Pascanu et al. ICML'13 on exploding gradients
# must-raise: exploding-gradient
# must-not-raise: gradients-accumulate, param-not-optimized, eval-mode, shape-broadcast, double-softmax, lr-schedule-collapse, unnormalized-input, symmetric-init
import torch
from torch import nn


class IRNN(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.rnn = nn.RNN(1, hidden, nonlinearity="relu", batch_first=True)
        nn.init.eye_(self.rnn.weight_hh_l0)
        nn.init.normal_(self.rnn.weight_ih_l0, std=0.1)
        nn.init.zeros_(self.rnn.bias_hh_l0)
        nn.init.zeros_(self.rnn.bias_ih_l0)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        h, _ = self.rnn(x)
        return self.out(h[:, -1])


torch.manual_seed(15)
T = 80
x = torch.rand(256, T, 1)
y = x.sum(1) / T * 4
model = IRNN()
opt = torch.optim.SGD(model.parameters(), lr=1e-4)
for step in range(100):
    idx = torch.randint(0, 256, (32,))
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(x[idx]), y[idx])
    loss.backward()
    opt.step()  # <-- exploding-gradient
    if step % 10 == 0:
        print(step, loss.item())
