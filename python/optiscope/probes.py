"""Curvature probes of one run: whether one may run now (the graph allows it; automatic ones within
their work budget), arming one for the next batch the script backpropagates, and measuring it (Lanczos
on Hessian-vector products, hessian.py). What is done with the result is the monitor's business."""
import os
from typing import Any, Callable, List, Optional, Sequence, Tuple

import torch

from . import effective_lr
from .hessian import lanczos, probe_extras
from .records import ProbeResult

# Models that do not wait for the judge (100,000 parameters and up, monitor.py) budget automatic curvature
# probes in counted work, never in time, so a busy machine gets the same probes as an idle one: after n
# steps they may have spent PROBE_FREE_HVPS + PROBE_BUDGET·n/HVP_STEPS Hessian-vector products
# (OPTISCOPE_PROBE_BUDGET, the fraction of the training work; 0: no automatic probes). An HVP by double
# backward costs 1.3 to 1.5 training steps from 160k to 3M parameters (tanh MLPs, batch 128, one
# thread), but a whole probe, Lanczos's vector work and the replayed batch's forward pass included, was
# measured at 53-70 training steps for 20 HVPs on W3 (784-256-128-10, docs/performance.md): HVP_STEPS is
# that upper end, so the budget is the fraction of the work it says. The free allowance is one probe
# with its preconditioned pass, so a run of a few thousand steps gets its first look at the curvature.
PROBE_BUDGET = float(os.environ.get("OPTISCOPE_PROBE_BUDGET", "0.03") or 0.0)
HVP_STEPS = 3.5
# Lanczos basis size (HVPs per probe); the Node side budgets automatic probes in these.
PROBE_ITERATIONS = 20
PROBE_FREE_HVPS = 2 * PROBE_ITERATIONS


class Probes:
    def __init__(self, optimizer: torch.optim.Optimizer, on_change: Optional[Callable[[], None]] = None) -> None:
        self.optimizer = optimizer
        # Curvature can be measured through this run's graph. Read freely; changed only by set_possible,
        # which tells `on_change` (the monitor derives whether it waits for verdicts from it).
        self.possible = True
        self.on_change = on_change
        self.affordable = True  # the work budget allows an automatic probe now (updated per step)
        self.armed = False  # measured on the next batch the script backpropagates (or by the closure)
        self.trigger = "request"  # why the armed probe runs
        self.count = 0
        self.auto_hvps = 0  # HVPs the automatic probes (small-gradient, stall) have spent
        self.auto_cost = PROBE_ITERATIONS  # HVPs of the last automatic probe (the next one's estimate)
        self.excluded: Optional[set] = None  # ids of parameters left out of probes (degrade.py); None: not tried yet
        self.known: Optional[set] = None  # ids of the parameters the last probe measured

    def set_possible(self, possible: bool) -> None:
        self.possible = possible
        if self.on_change is not None:
            self.on_change()

    def arm(self, trigger: Optional[str]) -> None:
        """A probe to run on the next batch the script backpropagates (nothing when `trigger` is empty)."""
        if trigger:
            self.trigger = trigger
            self.armed = True

    def affordable_now(self, steps: int) -> bool:
        """The work budget of automatic probes (PROBE_BUDGET above) after `steps` steps: counted HVPs and
        steps, no clock. Called once a monitored step."""
        if PROBE_BUDGET <= 0:  # OPTISCOPE_PROBE_BUDGET=0: no automatic probes at all
            return False
        return self.auto_hvps + self.auto_cost <= PROBE_FREE_HVPS + PROBE_BUDGET * steps / HVP_STEPS

    def measure(self, hvp: Any, step: int, layers: Optional[Sequence[Tuple[str, List[torch.Tensor]]]]) -> ProbeResult:
        """Runs the armed probe on `hvp` (hessian.hvp_from_loss) at the parameters after `step` updates;
        `layers` (name, parameters) for the per-layer curvature of scheduled and requested probes."""
        values, hvps = lanczos(hvp, hvp.params, iterations=PROBE_ITERATIONS, seed=self.count)
        trigger = self.trigger
        blocks = list(layers) if trigger in ("scheduled", "request") and layers is not None else None
        extras, extra_hvps = probe_extras(self.optimizer, hvp, PROBE_ITERATIONS, self.count, blocks)
        hvps += extra_hvps
        if trigger in ("small-gradient", "stall"):
            self.auto_hvps += hvps
            self.auto_cost = hvps
        self.count += 1
        lr = effective_lr.group_lrs(self.optimizer)[0] if self.optimizer.param_groups else 0.0
        return ProbeResult(step, values, hvps, trigger, lr, extras)
