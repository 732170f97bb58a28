"""A plain PyTorch training script (no Optiscope import), the user's side of the bridge benchmark.

Run directly (monitoring off) or as `python -m optiscope.run bench/bridge_train.py` (the bridge attached,
every-step monitors). BENCH_W (W2|W3), BENCH_STEPS and BENCH_WARMUP pick the workload; after the
warm-up steps it times BENCH_STEPS steps and prints one line `OPTISCOPE_BENCH {"wall": s, "cpu": s}`.
"""
import json
import os
import time

import torch
import torch.nn as nn

torch.set_num_threads(1)
W = os.environ.get("BENCH_W", "W2")
STEPS = int(os.environ.get("BENCH_STEPS", "500"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "20"))
sizes, act, batch = {
    "W1": ([2, 16, 16, 1], nn.Tanh, 32),
    "W2": ([64, 128, 128, 10], nn.Tanh, 64),
    "W3": ([784, 256, 128, 10], nn.ReLU, 128),
}[W]

torch.manual_seed(7)
layers = []
for i in range(1, len(sizes)):
    layers.append(nn.Linear(sizes[i - 1], sizes[i]))
    if i < len(sizes) - 1:
        layers.append(act())
model = nn.Sequential(*layers)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss() if sizes[-1] > 1 else nn.MSELoss()
x = torch.randn(1024, sizes[0])
y = torch.randint(0, sizes[-1], (1024,)) if sizes[-1] > 1 else torch.randn(1024, 1)
perm = torch.randperm(1024)
pos = 0


def step() -> None:
    global perm, pos
    if pos + batch > 1024:
        perm, pos = torch.randperm(1024), 0
    idx = perm[pos:pos + batch]
    pos += batch
    opt.zero_grad()
    loss = loss_fn(model(x[idx]), y[idx])
    loss.backward()
    opt.step()


for _ in range(WARMUP):
    step()
c0, t0 = time.process_time(), time.perf_counter()
for _ in range(STEPS):
    step()
print("OPTISCOPE_BENCH " + json.dumps({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0}), flush=True)
