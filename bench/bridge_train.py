"""A plain PyTorch training script (no Optiscope import), the user's side of the bridge benchmark.

Run directly (monitoring off) or as `python -m optiscope.run bench/bridge_train.py` (the bridge attached,
every-step monitors). BENCH_W (W2|W3|CNN|TF), BENCH_STEPS and BENCH_WARMUP pick the workload; after the
warm-up steps it times BENCH_STEPS steps and prints one line `OPTISCOPE_BENCH {"wall": s, "cpu": s}` (with
BENCH_SWITCHES=1 also the context switches of all the process's threads since it started, from /proc).
The models are bench/bench_models.py's. The CNN and TF have fewer than 100,000 parameters, so the bridge
runs them in lock-step with the Node side's judge.
"""
import json
import os
import time

import torch
import torch.nn as nn

from bench_models import build  # beside this script (the models, defined once)

torch.set_num_threads(1)
W = os.environ.get("BENCH_W", "W2")
STEPS = int(os.environ.get("BENCH_STEPS", "500"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "20"))
torch.manual_seed(7)
model, batch, x, y = build(W)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss() if y.dtype == torch.int64 else nn.MSELoss()
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
timing = {"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0}
if os.environ.get("BENCH_SWITCHES"):
    # Sleeps of the training process (all its threads): each costs a wake-up, and a scheduler latency on a busy machine.
    timing["voluntary"] = timing["involuntary"] = 0
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    timing["voluntary" if line[0] == "v" else "involuntary"] += int(line.split()[1])
print("OPTISCOPE_BENCH " + json.dumps(timing), flush=True)
