"""When a step is monitored: the overhead governor, the sampled steps of the activity hooks, the
`hessian_every` schedule and the step budget (--steps). Decides only; the monitor acts on it."""
import os
import time
from typing import Callable, List, Optional

import torch

from .activity import ActivityProbe

# Fraction of the training time the per-step statistics (as timed around step(); the forward hooks
# add about a third more) may add before the governor samples steps
# (OPTISCOPE_OVERHEAD), and the steps always monitored at the start of a run.
OVERHEAD_BUDGET = float(os.environ.get("OPTISCOPE_OVERHEAD", "0.03") or 0.03)
GOVERNOR_WARMUP = 20
# Models smaller than this are monitored at every step whatever the relative cost: their steps take
# less time than the statistics' fixed Python cost, yet nobody waits for a fraction of a millisecond,
# and their event streams stay deterministic (no timing in the decision).
GOVERNOR_MIN_PARAMETERS = 100_000
# With the helper process (offload.py), dead/saturated units are measured on the forward passes of the
# first ACTIVITY_WARMUP monitored steps and then of one monitored step in ACTIVITY_EVERY: the forward
# hooks that count them cost ~1µs per layer per step in the training process, the rest is free there.
ACTIVITY_WARMUP = 20
ACTIVITY_EVERY = 16


class StopTraining(BaseException):
    """Raised after the step budget (--steps) is spent. A BaseException, so a script's own
    `except Exception` cannot swallow it."""


class Cadence:
    """Which steps are monitored. None for `every`: every step, unless that costs more than
    OVERHEAD_BUDGET of the training time (then the governor spaces the monitored steps out); an explicit
    `every` is followed exactly."""

    def __init__(self, params: Callable[[], List[torch.Tensor]], every: Optional[int], hessian_every: int,
                 max_steps: Optional[int]) -> None:
        self._params = params
        self.every = max(1, int(every)) if every else 1
        self.governed = not every
        self.hessian_every = max(0, int(hessian_every))
        self.max_steps = max_steps
        self.monitor_time = 0.0
        self.wall_time = 0.0
        self._t_last_end: Optional[float] = None
        self.t_pre = 0.0  # the monitoring time of the current step's pre_step
        self.next_monitored = True  # the coming optimizer step will be monitored
        self.sampling_activity = False  # the activity hooks are on for the coming step's forward passes
        self._cost: Optional[float] = None
        self._cpu_only: Optional[bool] = None

    def clock(self) -> float:
        """CPU time of this process when training runs on the CPU (immune to other processes taking
        the machine), wall time when an accelerator does the work (its time is not this CPU's)."""
        if self._cpu_only is None:
            self._cpu_only = all(p.device.type == "cpu" for p in self._params())
        return time.process_time() if self._cpu_only else time.perf_counter()

    def decide_next(self, steps: int, spent: float) -> None:
        """After step `steps`: will the next one be monitored? With an explicit `every`, every N-th step. Else
        every step while the monitoring time stays within OVERHEAD_BUDGET of the training time so far
        (the first GOVERNOR_WARMUP steps always, so every run starts with full data)."""
        if not self.governed:  # no clock reads: ~1µs a step that only the governor needs
            self.next_monitored = (steps + 1) % self.every == 0
            return
        now = self.clock()
        self.monitor_time += spent
        if self._t_last_end is not None:
            self.wall_time += now - self._t_last_end
        self._t_last_end = now
        if spent > 0:
            self._cost = spent if self._cost is None else 0.8 * self._cost + 0.2 * spent
        if steps <= GOVERNOR_WARMUP:
            self.next_monitored = True
            if steps == GOVERNOR_WARMUP:  # the budget counts from here: no debt from the warm-up
                self.monitor_time = self.wall_time = 0.0
            return
        train = self.wall_time - self.monitor_time
        self.next_monitored = self.monitor_time + (self._cost or 0.0) <= OVERHEAD_BUDGET * max(train, 0.0)

    def plan_activity(self, activity: Optional[ActivityProbe], monitored_steps: int) -> None:
        """Forward hooks for dead/saturated units only on the sampled steps' forward passes (offloaded runs)."""
        if activity is None:
            return
        n = monitored_steps + 1
        want = self.next_monitored and (n <= ACTIVITY_WARMUP or n % ACTIVITY_EVERY == 0)
        if want != self.sampling_activity:
            self.sampling_activity = want
            if want:
                activity.attach(finite=False)
            else:
                activity.detach()

    def probe_scheduled(self, steps: int) -> bool:
        """The `hessian_every` schedule wants a curvature probe after step `steps`."""
        every = self.hessian_every
        return every > 0 and steps % every == 0

    def check_budget(self, steps: int) -> None:
        """Raises StopTraining once `steps` reaches the step budget."""
        if self.max_steps is not None and steps >= self.max_steps:
            raise StopTraining()
