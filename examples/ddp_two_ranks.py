"""A two-rank DistributedDataParallel job on CPU (gloo).

    npx optiscope run examples/ddp_two_ranks.py --nproc-per-node 2

Optiscope starts the ranks with the standard env:// variables (MASTER_ADDR, MASTER_PORT, RANK,
WORLD_SIZE, LOCAL_RANK), as torchrun would, and every event carries its `rank`. DDP averages the
gradients, so both ranks report the same gradient norm; if they ever disagree, Optiscope says so.
"""
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(0)  # the same initial weights on every rank
torch.set_num_threads(1)

model = DistributedDataParallel(nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1)))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
loss_fn = nn.MSELoss()

gen = torch.Generator().manual_seed(100 + rank)  # each rank sees its own shard of data
x = torch.randn(256, 10, generator=gen)
y = x[:, :1] * 2.0 - x[:, 1:2]

for step in range(int(os.environ.get("DDP_STEPS", "30"))):
    idx = torch.randint(0, len(x), (32,), generator=gen)
    optimizer.zero_grad()
    loss = loss_fn(model(x[idx]), y[idx])
    loss.backward()
    optimizer.step()
    if rank == 0 and step % 10 == 0:
        print(f"step {step}: loss {loss.item():.4f}")

dist.destroy_process_group()
