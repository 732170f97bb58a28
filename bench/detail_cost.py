"""What a small model's detailed step costs the training process over a light one (cadence.py's DETAIL_*
constants), what a governed model's monitored step costs inline over an unmonitored one (STATS_*), and
what a plain training step costs on the same machine (the work model's TRAIN_*), in one process, inline
(no helper process, no Node side: the lock-step's wait is not in it). One BLAS thread (OpenBLAS's pool
would compute outside the thread whose CPU time is read).

BENCH_W picks the workload of bench/bench_models.py (W1, W2, W3, CNN, TF; also D8, an MLP of 8 hidden
layers of 64, and P90, a 256-256-96-10 MLP of 91,000 parameters; the governed shapes M120, M540, D10,
M1600, CNN120); MODE:
- `pairs` (default): a plain twin and the watched model trained side by side, step by step; the watched
  model's steps past a 20-step warm-up are light but one in DETAIL_PERIOD (default 2: alternating). Prints the per-step thread
  CPU (medians, 10th percentiles) of plain, light and detailed steps, and a detailed step's time by part
  (the per-layer statistics before and after the update, the forward pass with the activity hooks, the
  event, the hooks' registration). CPU times under load are only comparable within the process.
- `governed`: `pairs` for a model of GOVERNOR_MIN_PARAMETERS or more (inline: OPTISCOPE_OFFLOAD=0):
  its steps alternate monitored and unmonitored (one in DETAIL_PERIOD monitored), and the monitored
  step's cost over an unmonitored one, divided by the plain twin's step and times the counted training
  work, is printed in the work model's units next to what STATS_* count; with the fraction of steps the
  governor monitors under each (1 in ceil(cost / (OPTISCOPE_OVERHEAD × work)) past its warm-up) and the
  overhead that fraction costs. A last line `FIT w layers parameters median p10` feeds the fit
  (docs/pytorch.md#overhead).
- `governor`: the watched model's steps as its governor schedules them (a governed model), each next to a
  plain twin's step: the fraction monitored and the overhead in thread CPU. STATS="a,b,c,d" sets STATS_US,
  STATS_US_PER_LAYER, STATS_US_PER_PARAM and STATS_PER_TRAIN_WORK first (e.g. older constants: before/after).
- `plain`, `light`, `detail`: BENCH_STEPS steps of that kind only after the warm-up, for instruction counts
  (run each under a counting tool and divide the differences by BENCH_STEPS).
"""
import math
import os
import sys
import time
from typing import Callable, Dict, List, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
os.environ.setdefault("OPTISCOPE_OFFLOAD", "0")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

import bench_models  # noqa: E402  (beside this script: the workloads, defined once)

import optiscope  # noqa: E402
from optiscope import cadence as cadence_mod  # noqa: E402

torch.set_num_threads(1)
W = os.environ.get("BENCH_W", "W2")
MODE = os.environ.get("MODE", "pairs")
STEPS = int(os.environ.get("BENCH_STEPS", "2000"))
WARMUP = 20
# pairs: one detailed step every PERIOD steps (2: alternating; the spacing, e.g. 30: its buffers and code as
# cold as at the defaults, where the 29 steps between detailed ones evict them).
PERIOD = int(os.environ.get("DETAIL_PERIOD", "2"))
cadence_mod.DETAIL_WARMUP = WARMUP  # light steps from step 21 on
if os.environ.get("STATS"):
    (cadence_mod.STATS_US, cadence_mod.STATS_US_PER_LAYER, cadence_mod.STATS_US_PER_PARAM,
     cadence_mod.STATS_PER_TRAIN_WORK) = (float(v) for v in os.environ["STATS"].split(","))


def build(seed: int) -> Tuple[nn.Module, int, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    return bench_models.build(W)


class Run:
    def __init__(self, seed: int) -> None:
        self.model, self.batch, self.x, self.y = build(seed)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.loss_fn = nn.CrossEntropyLoss() if self.y.dtype == torch.int64 else nn.MSELoss()
        self.pos = 0
        self.perm = torch.randperm(1024)
        self.phase = [0, 0, 0]  # forward, backward, step (ns) of the last step

    def step(self) -> int:
        if self.pos + self.batch > 1024:
            self.perm, self.pos = torch.randperm(1024), 0
        idx = self.perm[self.pos:self.pos + self.batch]
        self.pos += self.batch
        t0 = time.thread_time_ns()
        self.opt.zero_grad()
        loss = self.loss_fn(self.model(self.x[idx]), self.y[idx])
        t1 = time.thread_time_ns()
        loss.backward()
        t2 = time.thread_time_ns()
        self.opt.step()
        t3 = time.thread_time_ns()
        self.phase = [t1 - t0, t2 - t1, t3 - t2]
        return t3 - t0


def force(monitor, detailed: bool) -> None:
    """The coming step detailed or light, as the schedule makes a scheduled detailed step (the activity
    hooks and the row count registered for its forward pass) or a light one."""
    c = monitor.cadence
    c.detail_next = detailed
    if c.governed and not c.light:  # a governed model (100,000 parameters or more): monitored or not
        c.next_monitored = detailed  # (its rows are counted at every step, by the hooks govern() registered)
    else:
        c._plan_row_count(detailed)
    c.plan_inline_activity(monitor.activity)


PARTS: Dict[str, int] = {}


def timed(owner: object, name: str, label: str) -> None:
    fn: Callable = getattr(owner, name)

    def wrapper(*a, **k):
        t = time.thread_time_ns()
        try:
            return fn(*a, **k)
        finally:
            PARTS[label] = PARTS.get(label, 0) + time.thread_time_ns() - t

    setattr(owner, name, wrapper)


def pct(xs: List[int], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] / 1000.0


def governor(run: Run, plain: Run, monitor) -> None:
    """MODE=governor: the watched model's steps as its governor schedules them, each next to a plain step."""
    c = monitor.cadence
    if not c.governed or c.light:
        sys.exit(f"{W}: not a governed model")
    watched_ns = plain_ns = monitored = 0
    kinds: Dict[str, List[int]] = {"plain": [], "unmonitored": [], "monitored": []}
    for _ in range(STEPS):
        kind = "monitored" if c.next_monitored else "unmonitored"
        monitored += c.next_monitored
        t = run.step()
        watched_ns += t
        kinds[kind].append(t)
        kinds["plain"].append(plain.step())
        plain_ns += kinds["plain"][-1]
    rows = cadence_mod.input_rows((run.x[:run.batch],))
    print(f"{W}: STATS_* {cadence_mod.STATS_US:g}, {cadence_mod.STATS_US_PER_LAYER:g}/layer, {cadence_mod.STATS_US_PER_PARAM:g}/param, "
          f"{cadence_mod.STATS_PER_TRAIN_WORK:g} of the work: counted monitored step {c.monitoring_work(False, rows):.0f} µs, "
          f"training {c.step_work(rows):.0f} µs")
    print(f"{W}: {STEPS} steps past the warm-up, monitored 1 in {STEPS / max(monitored, 1):.1f}; thread CPU watched / plain "
          f"{watched_ns / plain_ns:.4f} (overhead {watched_ns / plain_ns - 1:+.2%})")
    if kinds["monitored"] and kinds["unmonitored"]:
        med = {k: pct(v, 0.5) for k, v in kinds.items()}
        f = monitored / STEPS
        print(f"{W}: medians µs plain {med['plain']:.0f}, unmonitored {med['unmonitored']:.0f}, monitored {med['monitored']:.0f}: "
              f"overhead from the medians {(f * med['monitored'] + (1 - f) * med['unmonitored']) / med['plain'] - 1:+.2%} "
              f"(monitored steps {f * (med['monitored'] - med['unmonitored']) / med['plain']:+.2%}, "
              f"unmonitored ones {(med['unmonitored'] - med['plain']) / med['plain']:+.2%})")


def main() -> None:
    run = Run(11)
    plain = Run(11) if MODE in ("pairs", "governed", "governor") else None
    if MODE != "plain":
        optiscope.watch(run.model, run.opt, log=os.devnull)
    monitor = getattr(run.opt, "_optiscope", None)
    for _ in range(WARMUP + 1):
        run.step()
        if plain is not None:
            plain.step()
    if MODE in ("light", "detail"):
        for _ in range(STEPS):
            force(monitor, MODE == "detail")
            run.step()
        return
    if MODE == "plain":
        for _ in range(STEPS):
            run.step()
        return
    if MODE == "governor":
        governor(run, plain, monitor)
        return
    assert monitor is not None
    governed = monitor.cadence.governed and not monitor.cadence.light
    if MODE == "governed" and not governed:
        sys.exit(f"{W}: not a governed model (fewer than {cadence_mod.GOVERNOR_MIN_PARAMETERS} parameters): MODE=pairs")
    if governed:
        print("(a governed model: `light` below is an unmonitored step, `detail` a monitored one)")
    from optiscope import activity, cadence, channel, monitor as monitor_mod, stats
    timed(stats.StatsCollector, "before", "stats.before")
    timed(stats.StatsCollector, "after", "stats.after")
    timed(activity.ActivityProbe, "take", "activity.take")
    timed(monitor_mod.Monitor, "report_step", "report_step (facts, event)")
    timed(channel.Channel, "emit", "  (in it: encode + write)")
    timed(cadence.Cadence, "plan_inline_activity", "hooks attach/detach")
    timed(cadence.Cadence, "decide_next", "decide_next")
    times: Dict[str, List[int]] = {"plain": [], "light": [], "detail": []}
    fwd: Dict[str, List[int]] = {"plain": [], "light": [], "detail": []}
    parts_detail: Dict[str, int] = {}
    n_detail = 0
    for i in range(STEPS):
        kind = "detail" if i % PERIOD == 0 else "light"
        force(monitor, kind == "detail")
        PARTS.clear()
        times[kind].append(run.step())
        fwd[kind].append(run.phase[0])
        if kind == "detail":
            n_detail += 1
            for k, v in PARTS.items():
                parts_detail[k] = parts_detail.get(k, 0) + v
        times["plain"].append(plain.step())  # type: ignore[union-attr]
        fwd["plain"].append(plain.phase[0])  # type: ignore[union-attr]
    med = {k: pct(v, 0.5) for k, v in times.items()}
    p10 = {k: pct(v, 0.1) for k, v in times.items()}
    c = monitor.cadence
    rows = cadence.input_rows((run.x[:run.batch],))  # what the bridge counts
    work = c.step_work(rows)
    if governed:
        print(f"{W}: shape {c._shape}, counted training work {work:.0f} µs, counted monitored step "
              f"{c.monitoring_work(False, rows):.0f} µs (STATS_*)")
    else:
        print(f"{W}: shape {c._shape}, counted training work {work:.0f} µs, counted detailed step "
              f"{cadence.DETAIL_US + cadence.DETAIL_US_PER_LAYER * c._shape[2] + cadence.DETAIL_US_PER_PARAM * c._shape[0]:.0f} µs, "
              f"spacing {c.detail_spacing(rows)}")
    print(f"{W}: steps {STEPS} (one in {PERIOD} detailed), thread CPU µs per step, median / p10")
    for k in times:
        print(f"  {k:7s} {med[k]:8.1f} {p10[k]:8.1f}   forward+zero_grad {pct(fwd[k], 0.5):7.1f}")
    print(f"  detailed - light: median {med['detail'] - med['light']:.1f}, p10 {p10['detail'] - p10['light']:.1f}")
    print(f"  (detailed - light) / plain: median {(med['detail'] - med['light']) / med['plain']:.3f}, "
          f"p10 {(p10['detail'] - p10['light']) / p10['plain']:.3f}; in counted µs: "
          f"{(med['detail'] - med['light']) / med['plain'] * work:.0f}, {(p10['detail'] - p10['light']) / p10['plain'] * work:.0f}")
    print(f"  light - plain: median {med['light'] - med['plain']:.1f}, p10 {p10['light'] - p10['plain']:.1f}")
    print("  detailed step by part (mean µs):")
    for k, v in parts_detail.items():
        print(f"    {k:28s} {v / n_detail / 1000.0:8.1f}")
    print(f"  forward with hooks - light forward (median): {pct(fwd['detail'], 0.5) - pct(fwd['light'], 0.5):.1f}")
    if governed:
        ratio = {"median": (med["detail"] - med["light"]) / med["plain"], "p10": (p10["detail"] - p10["light"]) / p10["plain"]}
        counted = c.monitoring_work(False, rows)
        every = math.ceil(counted / (cadence.OVERHEAD_BUDGET * work))
        print(f"  the governor ({cadence.OVERHEAD_BUDGET:.0%}) monitors 1 step in {every} past its warm-up (counted "
              f"{counted:.0f} µs), which costs {ratio['median'] / every:.1%} (median) / {ratio['p10'] / every:.1%} (p10) "
              f"of training; the budget allows 1 in {ratio['median'] / cadence.OVERHEAD_BUDGET:.1f} (median) / "
              f"{ratio['p10'] / cadence.OVERHEAD_BUDGET:.1f} (p10)")
        print(f"FIT {W} {c._shape[2]} {c._shape[0]} {ratio['median'] * work:.0f} {ratio['p10'] * work:.0f}")


if __name__ == "__main__":
    main()
