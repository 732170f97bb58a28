"""Mirror of src/engine/monitors/index.ts (the Suite's afterStep): feeds the history, runs the detectors in
the engine's order and decides when the curvature probe should run. The statistics themselves come
from optiscope.stats; the probe from optiscope.hessian."""
import math
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..rules import window_for
from .board import WarningBoard
from .critical_points import CriticalPointDetector
from .gradient_flow import GradientFlowDetector
from .history import Ring, RunHistory
from .learning_rate import LearningRateDetector
from .non_finite import NonFiniteDetector
from .units import UnitsDetector
from .view import Layer, OptimizerSpec, ProbeRecord, Stats, View, gradient_small, is_adaptive, progress_slow

# Steps assumed when the script's length is unknown (no --steps): sizes the detector window and the
# "would the loss halve in the planned run" test. docs/pytorch.md explains the choice.
DEFAULT_TOTAL_STEPS = 1000
# Lanczos basis size (HVPs per probe) and eigenvalues reported from each end of the spectrum.
PROBE_ITERATIONS = 20
PROBE_K = 3


class Suite:
    def __init__(self, rules: Dict[str, Any], optimizer: Callable[[], OptimizerSpec], layers: List[Layer],
                 total_steps: Optional[int], emit: Callable[[Dict[str, Any]], None],
                 source_for: Callable[[Optional[str]], Optional[Tuple[str, int]]], loss_floor: float = 0.0,
                 hessian_every: int = 0, network: bool = True) -> None:
        self.rules = rules
        self.optimizer = optimizer
        self.layers = layers
        self.total_steps = total_steps or DEFAULT_TOTAL_STEPS
        self.window = window_for(self.total_steps, rules)
        self.history = RunHistory(self.window, rules["explodingGradient"]["growthFactor"])
        self.board = WarningBoard(emit, int(rules["persist"]), int(rules["resolveAfter"]), float(rules["materialChange"]),
                                  self.window, source_for)
        self.flow = GradientFlowDetector(self.board)
        self.non_finite = NonFiniteDetector(self.board)
        self.lr_detector = LearningRateDetector(self.board)
        self.units = UnitsDetector(self.board)
        self.critical = CriticalPointDetector(self.board)
        self.loss_floor = loss_floor
        self.network = network
        self.hessian_every = hessian_every
        self.update_ratios = Ring(self.window)
        self.probe: Optional[ProbeRecord] = None
        self.stats: Optional[Stats] = None
        self.stats_fresh = False
        self.ever_stats = False
        self.eff_lr_p50 = math.nan
        self.eff_lr_p50_peak = 0.0
        self.eff_lr_p50_first = math.nan
        self.step_efficiency = math.nan
        self.step_efficiency_peak = 0.0
        c = rules["curvature"]
        self.auto_gap = max(int(c["minGap"]), int(math.floor(c["minGapFraction"] * self.total_steps + 0.5)))
        self.auto_budget = max(4 * PROBE_ITERATIONS, int(math.floor(c.get("autoBudgetFraction", 0.1) * self.total_steps + 0.5)), 8)
        self.auto_hvps = 0
        self.last_auto_probe = -math.inf
        self.last_lr = math.nan
        self.step = 0
        self.last_loss = math.nan
        self.last_grad = math.nan
        self.batch_size = 0

    @property
    def diverged(self) -> bool:
        return self.non_finite.diverged

    def _update_derived(self, stats: Stats, lr: float, n_params: int) -> None:
        p50s = sorted(x for x in stats.eff_p50 if math.isfinite(x))
        self.eff_lr_p50 = p50s[(len(p50s) - 1) >> 1] if p50s else math.nan
        if math.isnan(self.eff_lr_p50_first):
            self.eff_lr_p50_first = self.eff_lr_p50
        if self.eff_lr_p50 > self.eff_lr_p50_peak:
            self.eff_lr_p50_peak = self.eff_lr_p50
        u2 = sum(u * u for u in stats.update_norm)
        w2 = sum(w * w for w in stats.weight_norm)
        self.step_efficiency = math.sqrt(u2) / (lr * math.sqrt(n_params)) if lr > 0 and n_params else math.nan
        if self.step_efficiency > self.step_efficiency_peak:
            self.step_efficiency_peak = self.step_efficiency
        before = math.sqrt(w2)
        self.update_ratios.push(math.sqrt(u2) / before if before > 0 else (math.inf if u2 > 0 else 0.0))

    def view(self) -> View:
        assert self.stats is not None
        h = self.history
        return View(
            step=self.step, total_steps=self.total_steps, window=self.window, rules=self.rules, optimizer=self.optimizer(),
            layers=self.layers, history=h, stats=self.stats, stats_fresh=self.stats_fresh and self.ever_stats, lr=self.last_lr,
            grad_norm=self.last_grad, loss=self.last_loss, batch_size=self.batch_size,
            # A script's batches are unknown: treat them as mini-batches (the loss carries sampling noise).
            full_batch=False, loss_floor=self.loss_floor, probe=self.probe, step_efficiency=self.step_efficiency,
            step_efficiency_peak=self.step_efficiency_peak, eff_lr_p50=self.eff_lr_p50, eff_lr_p50_peak=self.eff_lr_p50_peak,
            eff_lr_p50_first=self.eff_lr_p50_first,
            update_ratio=self.update_ratios.mean_back(0, len(self.update_ratios)) if len(self.update_ratios) else math.nan,
            network=self.network,
        )

    def after_step(self, step: int, loss: float, lr: float, grad_norm: float, stats: Stats, n_params: int, batch_size: int,
                   params_bad: bool, first_param: Optional[str] = None, first_module: Optional[str] = None,
                   probe_available: bool = True) -> Optional[str]:
        """One monitored step. Returns the trigger when the curvature probe should run now (at these parameters)."""
        self.step, self.last_loss, self.last_lr, self.last_grad = step, loss, lr, grad_norm
        self.batch_size = batch_size
        self.history.push(loss, grad_norm)
        self.stats = stats
        self.stats_fresh = True
        self.ever_stats = True
        self._update_derived(stats, lr, n_params)
        v = self.view()
        scalars_bad = not math.isfinite(loss) or not math.isfinite(grad_norm)
        if scalars_bad or params_bad:
            if self.non_finite.report(v, params_bad, first_param, first_module):
                self.lr_detector.at_divergence(v)
                self.flow.at_divergence(v)
            return None
        if self.non_finite.diverged:
            return None
        trigger: Optional[str] = None
        if probe_available:
            scheduled = self.hessian_every > 0 and step % self.hessian_every == 0
            small = gradient_small(v)
            stall = progress_slow(v)
            auto = (small or stall) and step - self.last_auto_probe >= self.auto_gap and self.auto_hvps < self.auto_budget
            if scheduled or auto:
                trigger = "scheduled" if scheduled else "small-gradient" if small else "stall"
                self.pending_near_critical = small or stall
                if not scheduled:
                    self.last_auto_probe = step
        else:
            self.critical.evaluate_without_curvature(v, False)
        self.critical.evaluate_escape(v)
        self.flow.evaluate(v)
        self.units.evaluate(v)
        self.lr_detector.evaluate(v)
        return trigger

    def on_probe(self, step: int, values: List[float], hvps: int, trigger: str, lr: float) -> Dict[str, Any]:
        """A probe ran at the parameters after `step` updates: record it, judge the critical point, return the event."""
        if trigger in ("small-gradient", "stall"):
            self.auto_hvps += hvps
        lam_max, lam_min = values[-1], values[0]
        opt = self.optimizer()
        lr_eff = self.eff_lr_p50 if is_adaptive(opt) and math.isfinite(self.eff_lr_p50) else lr
        near = getattr(self, "pending_near_critical", False) if trigger in ("small-gradient", "stall", "scheduled") else False
        self.probe = ProbeRecord(step, lam_max, lam_min, hvps, lr * lam_max, lr_eff, trigger, near)
        k = PROBE_K
        picked = sorted(set(list(range(min(k, len(values)))) + [len(values) - 1 - j for j in range(min(k, len(values)))]))
        event = {"type": "hessian", "step": step, "lambdaMax": lam_max, "lambdaMin": lam_min,
                 "eigenvalues": [values[j] for j in picked], "hvps": hvps, "trigger": trigger, "lrSharpness": lr * lam_max}
        return event

    def judge_probe(self) -> None:
        """After the hessian event went out: the critical-point verdicts of that probe (engine order)."""
        if self.stats is None or self.probe is None:
            return
        v = self.view()
        self.critical.evaluate(v)

    def probe_failed(self) -> None:
        """The curvature could not be measured (no replayable graph): fall back to the plateau rule without it."""
        if self.stats is not None:
            self.critical.evaluate_without_curvature(self.view(), False)
