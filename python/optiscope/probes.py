"""Curvature probes of one run: whether one may run now (the graph allows it; automatic ones within
their time budget), arming one for the next batch the script backpropagates, and measuring it (Lanczos
on Hessian-vector products, hessian.py). What is done with the result is the monitor's business."""
import os
import time
from typing import Any, List, Optional, Sequence, Tuple

import torch

from . import effective_lr
from .hessian import lanczos, probe_extras
from .records import ProbeResult

# Fraction of the run's wall time automatic curvature probes may take (OPTISCOPE_PROBE_BUDGET).
PROBE_BUDGET = float(os.environ.get("OPTISCOPE_PROBE_BUDGET", "0.03") or 0.0)
PROBE_FREE_SECONDS = 0.25
# Lanczos basis size (HVPs per probe); the Node side budgets automatic probes in these.
PROBE_ITERATIONS = 20


class Probes:
    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer
        self.possible = True  # curvature can be measured through this run's graph
        self.affordable = True  # the time budget allows an automatic probe now (updated per step)
        self.armed = False  # measured on the next batch the script backpropagates (or by the closure)
        self.trigger = "request"  # why the armed probe runs
        self.count = 0
        self.time = 0.0  # seconds spent probing in all
        self.time_since_step = 0.0  # seconds spent probing since the last step (left out of the step's cost)
        self.train_time = 0.0
        self.last_cost: Optional[float] = None
        self._last_step_time: Optional[float] = None

    def arm(self, trigger: Optional[str]) -> None:
        """A probe to run on the next batch the script backpropagates (nothing when `trigger` is empty)."""
        if trigger:
            self.trigger = trigger
            self.armed = True

    def affordable_now(self, steps: int) -> bool:
        """Automatic probes may take PROBE_BUDGET of the run's wall time (a mid-size MLP's 20 HVPs cost
        about 55 training steps); called once a monitored step."""
        if PROBE_BUDGET <= 0:  # OPTISCOPE_PROBE_BUDGET=0: no automatic probes at all
            return False
        now = time.perf_counter()
        if self._last_step_time is not None:
            self.train_time += now - self._last_step_time - self.time_since_step
        self._last_step_time = now
        self.time_since_step = 0.0
        monitored = max(1, steps)
        estimate = self.last_cost if self.last_cost is not None else PROBE_ITERATIONS * 3.0 * self.train_time / monitored
        # Small models get a few probes whatever their training time: PROBE_FREE_SECONDS in all.
        return self.time + estimate <= max(PROBE_BUDGET * self.train_time, PROBE_FREE_SECONDS)

    def measure(self, hvp: Any, step: int, layers: Optional[Sequence[Tuple[str, List[torch.Tensor]]]]) -> ProbeResult:
        """Runs the armed probe on `hvp` (hessian.hvp_from_loss) at the parameters after `step` updates;
        `layers` (name, parameters) for the per-layer curvature of scheduled and requested probes."""
        t0 = time.perf_counter()
        values, hvps = lanczos(hvp, hvp.params, iterations=PROBE_ITERATIONS, seed=self.count)
        trigger = self.trigger
        blocks = list(layers) if trigger in ("scheduled", "request") and layers is not None else None
        extras, extra_hvps = probe_extras(self.optimizer, hvp, PROBE_ITERATIONS, self.count, blocks)
        hvps += extra_hvps
        cost = time.perf_counter() - t0
        self.time += cost
        self.time_since_step += cost
        self.last_cost = cost
        self.count += 1
        lr = effective_lr.group_lrs(self.optimizer)[0] if self.optimizer.param_groups else 0.0
        return ProbeResult(step, values, hvps, trigger, lr, extras)
