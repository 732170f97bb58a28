"""When a step is monitored: the overhead governor, the sampled steps of the activity hooks, the
`hessian_every` schedule and the step budget (--steps). Decides only; the monitor acts on it.

The governor counts work, never time: a busy machine samples the same steps as an idle one, so the same
script gives the same stream and the same verdicts. A step's training work and a monitored step's cost are
estimated from what the run is made of (parameters, parameter tensors, layers) and what each step feeds
its model (rows of the root modules' inputs), with constants measured once (docs/pytorch.md#overhead)."""
import math
import os
from typing import Any, Callable, List, Optional

import torch
from torch import nn

from .activity import ActivityProbe
from .lockstep import JUDGE_LAG

# Fraction of the training work the per-step statistics may add before the governor samples steps
# (OPTISCOPE_OVERHEAD), and the steps always monitored at the start of a run.
OVERHEAD_BUDGET = float(os.environ.get("OPTISCOPE_OVERHEAD", "0.03") or 0.03)
GOVERNOR_WARMUP = 20
# Models smaller than this are not governed: every step is reported whatever the relative cost (their
# per-layer statistics on a fixed subset of steps past a warm-up: DETAIL_* below), and every step of a
# larger model's governed run is counted against OVERHEAD_BUDGET.
GOVERNOR_MIN_PARAMETERS = 100_000
# The work model, in microseconds of one core of the machine the constants were measured on (CPU time of
# single-thread PyTorch, MLPs and CNNs of 0.2M to 1.6M parameters, Adam; the ratio is what matters):
# - a training step (forward, backward, update): TRAIN_US_PER_ROW_PARAM per parameter and input row
#   (a row: one example, or one token of a sequence) plus TRAIN_US_PER_TENSOR per parameter tensor;
# - a monitored step's statistics in the training process: STATS_US fixed, STATS_US_PER_LAYER per layer,
#   STATS_US_PER_PARAM per parameter and STATS_PER_TRAIN_WORK of the step's own training work (the activity
#   hooks read every activation of its forward pass: 4-15% of a plain step, more per counted row in a CNN);
#   with the helper process (offload.py) only the gradients' copy and the handoff stay here: OFFLOADED_US
#   fixed and OFFLOADED_US_PER_PARAM per parameter.
# STATS_* are what a monitored step costs over an unmonitored one as a fraction of a plain step of the same
# model, times its step_work (bench/detail_cost.py MODE=governed: a plain twin beside it, monitored and
# unmonitored steps alternating, thread CPU, two runs each; the training work's units whatever the machine
# and its load), fitted on MLPs of 118,000 to 1.6M parameters and 3 to 10 layers and a CNN of 122,000
# (docs/pytorch.md#overhead): W3 of the bench (235,000, batch 128) counted 1,911 against 1,640-1,759 measured,
# monitored 1 step in 13. Before (2.5 ms + 150 µs per layer + 4 ns per parameter) it was counted 2.2 times
# too high: 1 step in 28, 1.3% of its training where 3% was allowed. A 1.6M-parameter MLP is still counted
# low (0.63-0.84 of measured, 0.5-0.65 before; per parameter its statistics cost more than smaller models').
TRAIN_US_PER_ROW_PARAM = 1.5e-4
TRAIN_US_PER_TENSOR = 40.0
STATS_US = 0.0
STATS_US_PER_LAYER = 40.0
STATS_US_PER_PARAM = 6e-3
STATS_PER_TRAIN_WORK = 0.08
OFFLOADED_US = 20.0
OFFLOADED_US_PER_PARAM = 2.5e-4
# With the helper process (offload.py), dead/saturated units are measured on the forward passes of the
# first ACTIVITY_WARMUP monitored steps and then of one monitored step in ACTIVITY_EVERY: the forward
# hooks that count them cost ~1µs per layer per step in the training process, the rest is free there.
ACTIVITY_WARMUP = 20
ACTIVITY_EVERY = 16
# A model under GOVERNOR_MIN_PARAMETERS with no explicit `every` reports every step, but only some of them
# with per-layer statistics ("detailed"): the first DETAIL_WARMUP steps, then one every few steps, spaced
# by counted work (below; and any step whose loss or gradient is not finite). The others are light steps:
# loss, gradient norm and lr, measured in the training process with one pass over the gradients (light.py),
# no per-layer pass, no wait for the judge. Why: such a model's step (W2 of the bench: ~0.6 ms) is about as
# long as its statistics (~0.45 ms in the training process or the helper) plus the Node side's judging of
# them (~0.25 ms); on two cores neither the helper nor the training process (monitoring inline when the
# script's BLAS threads take every core) keeps pace with per-layer statistics at every step
# (docs/performance.md). Why not from the start: the detectors count their evidence in detailed steps, so
# past the warm-up a per-layer finding needs as many times more steps as the spacing (Adam at lr=1e-7:
# lr-too-low at step 340 instead of 124 when tried with a warm-up of 20 and a spacing of 10); most findings
# come within the first few hundred steps, and a run that long is cheap anyway.
# The spacing past the warm-up: detailed steps' work (a small model's per-layer statistics, the activity
# hooks of its forward pass and its event: DETAIL_US fixed, DETAIL_US_PER_LAYER per layer, DETAIL_US_PER_PARAM
# per parameter, in the training work's units: step_work) stays within OVERHEAD_BUDGET (the governor's) of
# the training work (with the input rows counted on the last scheduled detailed step), rounded up to a
# multiple of DETAIL_EVERY and at most DETAIL_EVERY_MAX steps; the detailed steps are its multiples (510,
# 540, 570, ... for 30). A model whose step is short next to its statistics (W2: every 30th step; a 2-16-16-1
# MLP: every 40th) is detailed less often than one whose step is long (a CNN, a small Transformer: every
# 10th). The spacing is recomputed on each scheduled detailed step (a batch size that changes moves it) and
# counts steps, rows and parameters, never time: the same script gives the same stream on a busy machine. A
# script whose input rows cannot be counted (a TorchScript root) keeps the spacing of DETAIL_EVERY.
# The constants: a detailed step's cost over a light one as a fraction of a plain step of the same model,
# measured in one process (bench/detail_cost.py: plain twin and watched model side by side, detailed and
# light steps alternating, thread CPU, two runs each), times that model's step_work, so that they are in
# the training work's units whatever the machine and its load; fitted on the upper (10th-percentile) ratios
# of MLPs of 337 to 91,000 parameters and 3 to 9 layers (docs/pytorch.md#overhead). Before, they came from
# detailed steps timed alone and scaled by a machine factor: the per-parameter term was too low (a 91,000-
# parameter MLP was spaced every 20th step, 3.6% of its training work).
DETAIL_WARMUP = 500
DETAIL_EVERY = 10
DETAIL_EVERY_MAX = 100
DETAIL_US = 50.0
DETAIL_US_PER_LAYER = 65.0
DETAIL_US_PER_PARAM = 6e-3


def input_rows(args: Any) -> int:
    """Rows of a forward pass's first tensor argument: examples, or tokens of sequences (all dimensions
    but the features' of a floating tensor; every element of an integer tensor of token ids)."""
    for a in args if isinstance(args, (tuple, list)) else (args,):
        t = a[0] if isinstance(a, (tuple, list)) and a and isinstance(a[0], torch.Tensor) else a
        if isinstance(t, torch.Tensor):
            if t.is_floating_point() and t.dim() >= 2:
                return t.numel() // max(int(t.shape[-1]), 1)
            return max(t.numel(), 1)
        data = getattr(a, "data", None)  # a PackedSequence: its rows are its tokens
        if isinstance(data, torch.Tensor) and data.dim() >= 1:
            return int(data.shape[0])
    return 1


class StopTraining(BaseException):
    """Raised after the step budget (--steps) is spent. A BaseException, so a script's own
    `except Exception` cannot swallow it."""


class Cadence:
    """Which steps are monitored. None for `every`: every step, unless that costs more than
    OVERHEAD_BUDGET of the training work (then the governor spaces the monitored steps out); an explicit
    `every` is followed exactly."""

    def __init__(self, params: Callable[[], List[torch.Tensor]], every: Optional[int], hessian_every: int,
                 max_steps: Optional[int]) -> None:
        self._params = params
        self.every = max(1, int(every)) if every else 1
        self.governed = not every
        self.hessian_every = max(0, int(hessian_every))
        self.max_steps = max_steps
        self.next_monitored = True  # the coming optimizer step will be monitored
        # Light steps (DETAIL_EVERY above): set by the monitor for small models without an explicit `every`.
        self.light = False
        self.detail_next = True  # the coming monitored step carries per-layer statistics
        self.sampling_activity = False  # the activity hooks are on for the coming step's forward passes
        # The governor's counted work (µs of the reference core, see the work model above).
        self.monitor_work = 0.0
        self.train_work = 0.0
        self.rows = 0  # input rows the root modules took since the last step
        self._shape: Optional[tuple] = None  # (parameters, parameter tensors, layers)
        self._hooks: List[Any] = []
        # Light steps past the warm-up: the next scheduled detailed step (0: none yet) and the forward
        # pre-hooks that count its input rows (registered for that step's forward passes only).
        self.next_detail = 0
        self._roots: List[nn.Module] = []
        self._counting = False

    def govern(self, roots: List[nn.Module], parameters: int, tensors: int, layers: int) -> None:
        """Starts counting the run's work: the rows its root modules take, per step (a forward pre-hook:
        one integer read per forward pass); with light steps, on the scheduled detailed steps only."""
        self._shape = (parameters, tensors, layers)
        self._roots = list(roots)
        if self.governed:
            self._count_rows()

    def _count_rows(self) -> None:
        def count(_m: nn.Module, args: Any) -> None:
            try:
                self.rows += input_rows(args)
            except Exception:  # noqa: BLE001 - an input the count cannot read: one row
                self.rows += 1

        for root in self._roots:
            try:
                self._hooks.append(root.register_forward_pre_hook(count))
            except Exception:  # noqa: BLE001 - a TorchScript root takes no hook: its steps count one row each
                pass

    def _plan_row_count(self, on: bool) -> None:
        """Light steps: the row count's hooks on for the coming step's forward passes, or off (a light
        step's forward runs with no hook: plan_inline_activity)."""
        if on == self._counting:
            return
        self._counting = on
        if on:
            self.rows = 0
            self._count_rows()
        else:
            for h in self._hooks:
                h.remove()
            self._hooks = []

    def close(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks = []
        self._counting = False

    def step_work(self, rows: int) -> float:
        """The training work of a step that fed `rows` input rows to the model (µs of the reference core)."""
        parameters, tensors, _ = self._shape or (0, 0, 0)
        return TRAIN_US_PER_ROW_PARAM * parameters * max(rows, 1) + TRAIN_US_PER_TENSOR * tensors

    def detail_spacing(self, rows: int) -> int:
        """Past the warm-up: steps from one scheduled detailed step to the next, for a step that fed `rows`
        input rows to the model (the rule above DETAIL_WARMUP)."""
        if rows <= 0:
            return DETAIL_EVERY
        if OVERHEAD_BUDGET <= 0:
            return DETAIL_EVERY_MAX
        parameters, _, layers = self._shape or (0, 0, 0)
        cost = DETAIL_US + DETAIL_US_PER_LAYER * layers + DETAIL_US_PER_PARAM * parameters
        periods = math.ceil(cost / (OVERHEAD_BUDGET * self.step_work(rows) * DETAIL_EVERY))
        return min(max(periods, 1) * DETAIL_EVERY, DETAIL_EVERY_MAX)

    def monitoring_work(self, offloaded: bool, rows: int = 0) -> float:
        """The training process's work for one monitored step that fed `rows` input rows to the model (µs of
        the reference core)."""
        parameters, _, layers = self._shape or (0, 0, 0)
        if offloaded:
            return OFFLOADED_US + OFFLOADED_US_PER_PARAM * parameters
        return (STATS_US + STATS_US_PER_LAYER * layers + STATS_US_PER_PARAM * parameters
                + STATS_PER_TRAIN_WORK * self.step_work(rows))

    def decide_next(self, steps: int, monitored: bool, offloaded: bool = False) -> None:
        """After step `steps` (`monitored`: it was): will the next one be monitored? With an explicit
        `every`, every N-th step. Else every step while the monitoring work stays within OVERHEAD_BUDGET of
        the training work so far (the first GOVERNOR_WARMUP steps always, so every run starts with full
        data). Counted work only: the same script samples the same steps on a busy machine."""
        if not self.governed:
            self.next_monitored = (steps + 1) % self.every == 0
            if not self.light:
                self.detail_next = self.next_monitored
                return
            n = steps + 1
            if steps >= DETAIL_WARMUP and steps >= self.next_detail:
                # `steps` was the warm-up's last step or a scheduled detailed step: its rows set the spacing.
                rows, self.rows = self.rows, 0
                spacing = self.detail_spacing(rows)
                self.next_detail = (steps // spacing + 1) * spacing  # a multiple of it: steps 510, 540, ... for 30
            self.detail_next = self.next_monitored and (n <= DETAIL_WARMUP or n == self.next_detail
                                                        or (self.hessian_every > 0 and n % self.hessian_every == 0))
            counting = n == DETAIL_WARMUP or n == self.next_detail
            if counting != self._counting:  # a call only when it changes: not on a light step's way
                self._plan_row_count(counting)
            return
        rows, self.rows = self.rows, 0
        cost = self.monitoring_work(offloaded, rows)
        self.train_work += self.step_work(rows)
        if monitored:
            self.monitor_work += cost
        if steps <= GOVERNOR_WARMUP:
            self.next_monitored = self.detail_next = True
            if steps == GOVERNOR_WARMUP:  # the budget counts from here: no debt from the warm-up
                self.monitor_work = self.train_work = 0.0
            return
        self.next_monitored = self.detail_next = self.monitor_work + cost <= OVERHEAD_BUDGET * self.train_work

    def judge_lag(self, steps: int) -> int:
        """How many steps back the lock-step waits for the judge (lockstep.py) before backpropagating at the
        parameters after `steps` updates: JUDGE_LAG, or DETAIL_EVERY once a small model's steps are mostly
        light (a probe the judge asks for then lands up to two detailed steps later, still at a fixed step)."""
        return DETAIL_EVERY if self.light and steps > DETAIL_WARMUP else JUDGE_LAG

    def plan_activity(self, activity: Optional[ActivityProbe], monitored_steps: int, steps: int = 0) -> None:
        """Forward hooks for dead/saturated units only on the sampled steps' forward passes (offloaded runs)."""
        if activity is None:
            return
        n = monitored_steps + 1
        # Past a small model's detailed warm-up a detailed step is one in DETAIL_EVERY or fewer: each is sampled.
        want = self.detail_next and (n <= ACTIVITY_WARMUP or n % ACTIVITY_EVERY == 0 or (self.light and steps >= DETAIL_WARMUP))
        if want != self.sampling_activity:
            self.sampling_activity = want
            if want:
                activity.attach(finite=False)
            else:
                activity.detach()

    def plan_inline_activity(self, activity: Optional[ActivityProbe]) -> None:
        """Inline runs (no helper process): the forward hooks (per-module NaN/Inf flags, dead/saturated
        units) are registered only for the forward passes of steps that carry per-layer statistics. A light
        or unmonitored step's forward then has no hook at all and takes torch's hook-free call path: hooks
        that only checked a flag cost a small model's light step more than its gradient norm (~1/4 of its
        Python calls, docs/pytorch.md#overhead). A detail window re-registers them, and detach() removes
        each one it made."""
        if activity is not None and self.detail_next != activity.attached:
            if self.detail_next:
                activity.attach(finite=True)
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
