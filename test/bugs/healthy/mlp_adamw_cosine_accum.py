# provenance: healthy control: MLP with AdamW, two param groups (no weight decay on biases and norms), a cosine schedule and correct gradient accumulation (4 micro-batches per step, zero_grad after step)
# must-raise:
# must-not-raise: all
import torch
from torch import nn

torch.manual_seed(103)
x = torch.randn(4096, 16)
y = (torch.sin(x[:, :4]).sum(1, keepdim=True) + 0.1 * torch.randn(4096, 1))
model = nn.Sequential(nn.Linear(16, 128), nn.LayerNorm(128), nn.GELU(), nn.Linear(128, 64), nn.GELU(), nn.Linear(64, 1))
decay = [p for n, p in model.named_parameters() if p.dim() > 1]
no_decay = [p for n, p in model.named_parameters() if p.dim() <= 1]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}], lr=2e-3)
accum = 4
micro = 16
steps = 300
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
opt.zero_grad()
step = 0
i = 0
while step < steps:
    for _ in range(accum):
        idx = torch.arange(i, i + micro) % 4096
        i += micro
        loss = nn.functional.mse_loss(model(x[idx]), y[idx]) / accum
        loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    sched.step()
    step += 1
    if step % 50 == 0:
        print(step, loss.item() * accum, sched.get_last_lr()[0])
