"""`python -m optiscope.overhead`: what watching costs, measured the fair way.

Two identical models train side by side in one process, in interleaved blocks of steps, one plain
and one watched (default settings, events written to /dev/null); CPU time per step is compared by
the median over blocks, so machine load drifts affect both arms alike. Prints one line of JSON.

Options (environment): OVERHEAD_WIDTH (hidden units, default 512), OVERHEAD_BATCH (128),
OVERHEAD_BLOCKS (8), OVERHEAD_STEPS (40 per block), OVERHEAD_EVERY (unset: the default governor).
"""
import json
import os
import time
from typing import List, Tuple

import torch
from torch import nn

from . import watch


def _model(width: int) -> Tuple[nn.Module, torch.optim.Optimizer]:
    model = nn.Sequential(nn.Linear(784, width), nn.ReLU(), nn.Linear(width, width // 2), nn.ReLU(), nn.Linear(width // 2, 10))
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(int(os.environ.get("OVERHEAD_THREADS", "1")))
    width = int(os.environ.get("OVERHEAD_WIDTH", "512"))
    batch = int(os.environ.get("OVERHEAD_BATCH", "128"))
    blocks = int(os.environ.get("OVERHEAD_BLOCKS", "8"))
    steps = int(os.environ.get("OVERHEAD_STEPS", "40"))
    every = os.environ.get("OVERHEAD_EVERY")
    x, y = torch.randn(4096, 784), torch.randint(0, 10, (4096,))
    plain, watched = _model(width), _model(width)
    handle = watch(watched[0], watched[1], every=int(every) if every else None, log=os.devnull)

    def run(pair: Tuple[nn.Module, torch.optim.Optimizer], n: int) -> float:
        model, opt = pair
        t = time.process_time()
        for _ in range(n):
            idx = torch.randint(0, len(x), (batch,))
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
        return (time.process_time() - t) / n

    run(plain, 25)
    run(watched, 25)  # warm-up, including the watched run's always-monitored first steps
    a: List[float] = []
    b: List[float] = []
    for _ in range(blocks):
        a.append(run(plain, steps))
        b.append(run(watched, steps))
    handle.close()
    a.sort()
    b.sort()
    med_a, med_b = a[len(a) // 2], b[len(b) // 2]
    params = sum(p.numel() for p in plain[0].parameters())
    monitored = handle.monitor.monitored_steps  # type: ignore[attr-defined]
    total = handle.monitor.steps  # type: ignore[attr-defined]
    print(json.dumps({"parameters": params, "plainMsPerStep": med_a * 1e3, "watchedMsPerStep": med_b * 1e3,
                      "overhead": med_b / med_a - 1, "monitoredSteps": monitored, "steps": total}))


if __name__ == "__main__":
    main()
