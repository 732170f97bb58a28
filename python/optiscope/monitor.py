"""One watched optimizer: the steps of its run, from `start` to `end`. It measures and reports; it does
not judge: the warnings are decided on the Node side (src/engine/monitors/judge.ts), which asks for
curvature probes through the control channel (control.py).

The monitor ties together modules with one job each:
- what is measured: stats.py (per-layer norms, effective learning rates), activity.py (forward hooks:
  dead/saturated units, the first non-finite module), step_facts.py, probes.py (curvature);
- when: cadence.py (which steps are monitored, the hessian_every schedule, the step budget),
  lockstep.py (small models wait for the judge's verdicts, so probes land at fixed steps);
- how it is sent: report.py (the events), offload.py (a helper process computes and reports the steps;
  records.py are its messages).
"""
import math
import os
import sys
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import torch
from torch import nn

from . import control, degrade, facts, naming, offload, relayout
from .activity import ActivityProbe, expect_start, started as activity_started
from .cadence import GOVERNOR_MIN_PARAMETERS, Cadence, StopTraining
from .channel import Channel
from .detail import Thinning, thin_after_from_env
from .hessian import reason_of, supported_hvp
from .light import GradNorm, InlineLight
from .lockstep import LockStep
from .probes import PROBE_BUDGET, Probes
from .records import ActivitySample, ProbeResult, ProbeUnavailable
from .report import Reporter
from .stats import StatsCollector, StepStats
from .step_facts import layer_facts, step_facts

Location = Tuple[str, int]

__all__ = ["Monitor", "StopTraining", "distributed_rank"]


def distributed_rank() -> Tuple[Optional[int], Optional[int]]:
    """(rank, world size) from the env:// variables, when this process is one rank of several."""
    if "WORLD_SIZE" not in os.environ or "RANK" not in os.environ:
        return None, None
    try:
        return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    except ValueError:
        return None, None


SPARSE_NO_CURVATURE = "a sparse gradient (an embedding with sparse=True) cannot be differentiated again by PyTorch"

COMPLEX_NO_CURVATURE = "complex parameters (the probe measures real parameters only)"


def _sparse_gradients(module: Optional[nn.Module]) -> bool:
    """The module's weight gets sparse gradients (nn.Embedding / nn.EmbeddingBag with sparse=True)."""
    return bool(getattr(module, "sparse", False)) and isinstance(module, (nn.Embedding, nn.EmbeddingBag))


class Monitor:
    _names: Dict[str, int] = {}

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        channel: Channel,
        source: Optional[Location],
        every: Optional[int] = None,
        models: Iterable[nn.Module] = (),
        closure: Optional[Callable[[], torch.Tensor]] = None,
        script: Optional[str] = None,
        max_steps: Optional[int] = None,
        hessian_every: int = 0,
    ) -> None:
        self.optimizer = optimizer
        self.channel = channel
        self.source = source
        self.models = list(models)
        self.closure = closure
        self.script = script
        self.rank, self.world = distributed_rank()
        self.distributed = self.world is not None and self.world > 1
        base = type(optimizer).__name__.lower()
        Monitor._names[base] = Monitor._names.get(base, 0) + 1
        self.report = Reporter(channel, base if Monitor._names[base] == 1 else f"{base}-{Monitor._names[base]}", self.rank)
        self.cadence = Cadence(self.params, every, hessian_every, max_steps)
        self.thinning = Thinning(thin_after_from_env())  # per-layer detail of long runs (detail.py)
        # Whether this run waits for the judge's verdicts (derive_waits): derived when one of its inputs
        # changes, read at every step (await_judged, report_step).
        self.waits = False
        self.probes = Probes(optimizer, self.derive_waits)
        self.lockstep = LockStep(self.derive_waits)
        self.probe_budgeted = False  # set at the run's start (_start): large models budget their automatic probes
        self.steps = 0
        self.monitored_steps = 0
        self.started = False
        self.ended = False
        self.stats: Optional[StatsCollector] = None
        self.activity: Optional[ActivityProbe] = None
        self.monitoring_this_step = False
        self.detail_this_step = False  # the step carries per-layer statistics (else it is light: cadence.py)
        self.detail_due = False  # the next monitored step carries them whatever the schedule (new layers)
        self.light: Optional[Tuple[Optional[float], float]] = None  # a light step's (loss, gradient norm), from pre_step
        self.light_steps = 0
        self.grad_norm = GradNorm()  # a light step's gradient norm (light.py)
        self.inline_light = InlineLight(self)  # a light step's short path, monitored inline (light.py)
        self.closure_step = False
        # The helper process that computes and reports the steps (offload.py), once forked.
        self.link: Optional[offload.Link] = None
        self.fast: Optional[offload.FastStep] = None  # the common offloaded step's short path
        self.fast_steps = 0  # steps that took it
        self.in_helper = False
        self.nan_module: Optional[str] = None  # an offloaded run's first non-finite module on this step
        self.watched_loss: Optional[Tuple[torch.Tensor, float]] = None  # the loss watch_loss read, and its value
        # The script's names for its modules, and the layers as they are now: a module replaced before the
        # first step leaves the optimizer holding parameters that only this snapshot can name (naming.py).
        self.module_names: Dict[int, str] = {}
        # Mid-run layout changes (relayout.py): the step at which the layers are looked at again, the module
        # tree generation they were read at, which layers were frozen, and a helper process to fork again.
        self.layout_check_at = 0
        self.tree_generation = 0
        self.layout_frozen: List[bool] = []
        self.offload_due = False
        self.peers: List["Monitor"] = [self]  # every watched optimizer of the process (hooks.monitors, once registered)
        self._born: Optional[naming.Layout] = None
        try:  # never a reason for the script's optimizer to fail
            self.module_names = naming.variable_names()
            self._born = naming.build_layout(self.params(), self.models or naming.known_modules(), self.module_names)
        except Exception:  # noqa: BLE001
            pass
        expect_start(self)

    @property
    def run(self) -> str:
        return self.report.run

    @run.setter
    def run(self, name: str) -> None:
        self.report.run = name

    # ----------------------------------------------------------------------------------------------
    def emit(self, event: Dict[str, Any]) -> None:
        self.report.emit(event)

    def params(self) -> List[torch.Tensor]:
        return [p for g in self.optimizer.param_groups for p in g["params"]]

    def _start(self) -> None:
        self.started = True
        candidates = self.models or naming.known_modules()
        layout = naming.build_layout(self.params(), candidates, {**self.module_names, **naming.variable_names()}, self._born)
        self._born = None
        self._use_layout(layout)
        activity = self.activity
        assert activity is not None
        if layout.parameters < GOVERNOR_MIN_PARAMETERS:
            # Every step reported; per-layer statistics on a fixed subset of them, unless `every` was given
            # (cadence.py). A model of one or two parameters (a 2-D function) sends them all at every step.
            self.cadence.light = self.cadence.governed and layout.parameters > 2
            self.cadence.governed = False
        self._govern(layout)
        # Every run waits for the verdicts on the steps it monitors (a large model's are the governor's
        # sampled steps, counted work): a probe the judge asks for lands at the same step on a busy machine.
        self.lockstep.set_active(control.available() and not self.distributed)
        # Small models' probes are cheap: the judge's HVP budget alone bounds them; large models' automatic
        # probes also keep within this process's counted work budget (probes.py).
        self.probe_budgeted = layout.parameters >= GOVERNOR_MIN_PARAMETERS
        activity_started(self)
        group = self.optimizer.param_groups[0] if self.optimizer.param_groups else {}
        hyper = {k: v for k, v in group.items() if k != "params" and isinstance(v, (int, float, bool, str, tuple, list))}
        config = {"optimizer": {"name": type(self.optimizer).__name__, **{k: list(v) if isinstance(v, tuple) else v for k, v in hyper.items()}},
                  "script": self.script, "every": self.cadence.every, "groups": len(self.optimizer.param_groups),
                  "hessianEvery": self.cadence.hessian_every, "thinAfter": self.thinning.thin_after,
                  # Optiscope's launcher asks this process for curvature probes (control.py)
                  "answersProbes": control.available() and not self.distributed}
        extra: Dict[str, Any] = {}
        if self.script:
            extra["file"] = self.script
        if self.cadence.max_steps:
            extra["totalSteps"] = self.cadence.max_steps
        if self.world is not None:
            extra["worldSize"] = self.world
        if self.source is not None:
            extra["locations"] = {"optimizer": {"file": self.source[0], "line": self.source[1]}}
        self.report.start(config, layout.parameters, [layer_facts(layer, activity) for layer in layout.layers],
                          type(self.optimizer).__name__, extra)
        control.register(self, waits=self.lockstep.active)

    def _use_layout(self, layout: "naming.Layout") -> None:
        """Measure these layers from now on (at the start, and when they change mid-run)."""
        self.layout = layout
        self.n_parameters = layout.parameters
        self.layer_names = [layer.name for layer in layout.layers]
        self.layout_frozen = relayout.frozen_flags(layout)
        self.layout_check_at = self.steps + relayout.SCAN_EVERY
        self.tree_generation = relayout.generation()
        self.offload_due = True  # the first monitored step is reported inline, then a helper may take over
        self.thinning.last = None  # the new layers' first step carries them, however long the run (detail.py)
        self.detail_due = True  # ... and is not a light step (cadence.py)
        if self.activity is not None:
            self.activity.close()
            self.cadence.sampling_activity = False  # the new probe's hooks are planned afresh
        self.stats = StatsCollector(self.optimizer, layout)
        self.activity = ActivityProbe(layout, lambda: self.monitoring_next() and torch.is_grad_enabled())
        if self.started and (self.cadence.governed or self.cadence.light):
            self._govern(layout)  # the work counts follow the layers (at the start: once governed is known)

    def _govern(self, layout: "naming.Layout") -> None:
        self.cadence.close()
        self.cadence.govern(layout.root_modules, layout.parameters, sum(len(layer.params) for layer in layout.layers), len(layout.layers))

    def look_at_layout(self) -> None:
        """Before a monitored step: have the layers changed (relayout.py)? Then the helper process (if
        any) reports every step it has and exits, the new layers are announced in a `layout` fact, and
        the step is measured on them."""
        change = relayout.check(self, self.peers)
        if change is None:
            return
        layout, reason = change
        link = self.link
        if link is not None:
            self.link = None
            self.fast = None
            trigger, best = link.hand_back()
            self.arm_probe(trigger)
            if best is not None and (self.report.best is None or best[0] < self.report.best[0]):
                self.report.best = best
        self._use_layout(layout)
        self.probes.excluded = None  # the new layers' second derivatives are looked at again
        facts.layout_changed(self)
        self.emit({"type": "fact", "step": self.steps, "fact": relayout.layout_fact(self, reason)})

    def monitoring_next(self) -> bool:
        """True when the coming optimizer step will carry per-layer statistics (its forward passes are observed)."""
        return self.cadence.detail_next

    # ----------------------------------------------------------------------------------------------
    def pre_step(self, with_closure: bool, loss: Optional[torch.Tensor] = None) -> None:
        """Before step(); `loss` is the step's loss when it is known already (no closure)."""
        if self.ended:
            return
        cadence = self.cadence
        if not self.started:
            self._start()
        self.monitoring_this_step = cadence.next_monitored
        self.closure_step = with_closure
        if self.monitoring_this_step and relayout.due(self):
            self.look_at_layout()
        self.detail_this_step = cadence.detail_next or (self.monitoring_this_step and self.detail_due)
        if self.detail_this_step:
            self.detail_due = False
        link = self.link
        if link is not None and loss is not None:
            self.watch_loss(loss)
        if self.monitoring_this_step and not self.detail_this_step and not self._light_pre(loss, with_closure):
            # Not light after all (a closure, a NaN/Inf): measured in full. The helper first copies the
            # parameters this step starts from (the last light step did not).
            self.detail_this_step = True
            if link is not None:
                link.snap()
        if link is not None:
            self.arm_probe(link.wait())  # the helper has read the last step: the parameters may change now
            if self.detail_this_step:
                link.copy_grads()
        elif self.detail_this_step and self.stats is not None:
            self.stats.before(with_closure)

    def _light_pre(self, loss: Optional[torch.Tensor], with_closure: bool) -> bool:
        """Before a light step's update: its loss and gradient norm. False when it must carry per-layer
        statistics instead: a closure computes the gradient inside step(), and a non-finite loss or gradient
        is reported with the layers and parameter it is in."""
        if with_closure:
            return False
        value: Optional[float] = None
        if loss is not None:
            watched = self.watched_loss
            value = watched[1] if watched is not None and watched[0] is loss else loss.item()
            if not math.isfinite(value):
                return False
        norm = self.grad_norm(self.stats.flat if self.stats is not None else self.params())
        if not math.isfinite(norm):
            return False
        self.light = (value, norm)
        return True

    def post_step(self, loss: Optional[torch.Tensor]) -> None:
        if self.ended:
            return
        cadence = self.cadence
        self.steps += 1
        link = self.link
        if self.monitoring_this_step and not self.detail_this_step:
            self._post_light(link)
        elif link is not None:
            self._post_offloaded(link, loss)
        elif self.monitoring_this_step and self.stats is not None:
            self.count_monitored()
            flags, act = self.activity.take() if self.activity else ([], [])
            s = self.stats.after(loss, flags, act)
            self._act_on(self.report_step(s, loss is not None))
            if self.closure is not None and not self.ended:
                self.await_judged()
            if self.probes.armed and self.closure is not None and not self.ended:
                self.probe_with_closure()  # asked for by the Node side: the closure replays the batch now
            if self.offload_due and not self.ended:
                self.offload_due = False
                self._offload()
        elif self.activity is not None:
            self.activity.take()
        if self.activity is not None and self.detail_this_step:
            self.activity.check_hooks_ran()
        if self.activity is not None and self.activity.failures:
            for layer, quantity, reason in self.activity.take_failures():
                degrade.switch_off(self, "activity", reason, layer=layer, quantity=quantity)
        cadence.decide_next(self.steps, self.monitoring_this_step, self.link is not None)
        if self.link is not None:
            if not self.detail_this_step and cadence.detail_next:
                self.link.snap()  # the helper copies the parameters the next detailed step starts from
            self.plan_activity()
        else:
            cadence.plan_inline_activity(self.activity)
        cadence.check_budget(self.steps)

    # -- the helper process (offload.py) ---------------------------------------------------------------
    def _offload(self) -> None:
        """After the first monitored step (reported inline, so the helper inherits it): fork the helper
        when this run allows it; else stay inline. A layer that makes sparse gradients (an embedding with
        `sparse=True`) keeps the run inline even before its first gradient: the helper reads dense gradients
        only, and a table unfrozen mid-run would make the first one sparse there."""
        if offload.eligible(self) is not None or any(_sparse_gradients(layer.module) for layer in self.layout.layers):
            return
        link = offload.Link(self)
        if not link.start():
            return
        self.link = link
        if offload.FastStep.applies(self):
            self.fast = offload.FastStep(self, link)
        if self.activity is not None:
            self.activity.close()
            self.activity.capture_inputs()

    def plan_activity(self) -> None:
        """Forward hooks for dead/saturated units only on the sampled steps' forward passes."""
        self.cadence.plan_activity(self.activity, self.monitored_steps, self.steps)

    def _post_light(self, link: Optional["offload.Link"]) -> None:
        """A light step's event: loss, gradient norm and lr (by the helper process, if any). Not awaited
        by the lock-step: the judge's verdicts on it arrive before those of the next detailed step."""
        assert self.light is not None
        (value, grad_norm), self.light = self.light, None
        self.light_steps += 1
        self.watched_loss = None
        groups = self.optimizer.param_groups
        lr = groups[0]["lr"] if groups else 0.0
        lr = lr if type(lr) is float else float(lr)
        rows = self.activity.batch_rows if self.activity is not None else 0
        if link is not None:
            if value is not None:
                self.report.last_loss = value
            link.light(self.steps, value, grad_norm, lr, rows)
        else:
            if self.activity is not None:
                self.activity.take()
            self.report.light_step(self.steps, value, lr, grad_norm, rows)

    def _post_offloaded(self, link: "offload.Link", loss: Optional[torch.Tensor]) -> None:
        if not self.monitoring_this_step:
            return
        self.count_monitored()
        act: List[ActivitySample] = []
        if self.cadence.sampling_activity and self.activity is not None:
            act = [ActivitySample(*a) for a in self.activity.take_host()]
        first_module, self.nan_module = self.nan_module, None
        affordable = self.cadence.hessian_every > 0 or self.probes.affordable_now(self.steps)
        self.probes.affordable = affordable
        watched, self.watched_loss = self.watched_loss, None
        value = None if loss is None else watched[1] if watched is not None and watched[0] is loss else loss.item()
        if value is not None:
            self.report.last_loss = value
        link.step(value, first_module, act,
                  self.activity.batch_rows if self.activity else 0, affordable)
        self.arm_probe(link.take_trigger())
        # Scheduled probes are armed here: the probe then measures the parameters after this step, as inline.
        if (self.cadence.probe_scheduled(self.steps) and value is not None and math.isfinite(value) and self.probes.possible
                and not self.distributed):
            self.arm_probe("scheduled")

    def watch_loss(self, loss: torch.Tensor) -> None:
        """Offloaded runs have no per-module finiteness hooks: when the loss the script backpropagates is
        NaN/Inf, the last forward pass is replayed with them to find the first module that went bad
        (before step() moves the parameters: in pre_step, or at backward() inside step(closure))."""
        value = loss.item()
        self.watched_loss = (loss, value)  # post_step reads the same loss: one host read, not two
        if self.nan_module is None and self.activity is not None and not math.isfinite(value):
            self.nan_module = self.activity.replay_first_nonfinite()

    def publish_probe(self, probe: ProbeResult) -> None:
        """A curvature probe's result: the hessian event (the Node side judges it)."""
        self.report.hessian(probe)

    def probe_unavailable(self) -> None:
        self.probes.set_possible(False)

    def request_probe(self, trigger: str) -> None:
        """The Node side's judge asks for curvature: measured on the next batch the script backpropagates,
        or by the closure after the next step. Declined when the graph cannot give it, in a distributed
        run, or (large models, or without lock-step) when automatic probes would exceed their work budget
        (probes.py); the judge budgets them in HVPs too: counted work, never wall time."""
        probes = self.probes
        if self.ended or not probes.possible or probes.armed or self.distributed:
            return
        if PROBE_BUDGET <= 0:  # OPTISCOPE_PROBE_BUDGET=0: no automatic probes at all
            return
        if (self.probe_budgeted or not self.lockstep.active) and not probes.affordable:
            return
        probes.arm(trigger)

    # -- the Node side's verdicts (control.py, lockstep.py) --------------------------------------------
    def count_monitored(self) -> None:
        """A monitored step: its event goes to the judge (inline, or by the helper process)."""
        self.monitored_steps += 1
        self.lockstep.reported(self.steps)

    def on_judged(self, record: "control.Judged") -> None:
        """From the control reader thread: the judge has read `record.step` (and may want a probe)."""
        self.lockstep.on_judged(record, self.request_probe)

    def on_control_closed(self) -> None:
        self.lockstep.on_control_closed()

    def derive_waits(self) -> None:
        """Does this run wait for the judge's verdicts (lock-step)? Not when it would decline every probe
        (request_probe): nothing then has to land at a fixed step, and its step events need not wake the
        Node side (channel.py). Called when an input changes (LockStep.set_active, Probes.set_possible; the
        budget is fixed at import); `waits` holds the answer for the per-step readers."""
        self.waits = self.lockstep.active and PROBE_BUDGET > 0 and self.probes.possible

    def await_judged(self) -> None:
        """Before backpropagating: wait for the verdicts up to JUDGE_LAG steps back (lockstep.py)."""
        # self.run inline: this runs before every backward pass.
        self.lockstep.await_judged(self.steps, self.report.run, self.request_probe, self.cadence.judge_lag(self.steps),
                                   self.channel.wake, self.waits)

    def arm_probe(self, trigger: Optional[str]) -> None:
        """A curvature probe (scheduled, or handed back by the helper process): measured on the next batch
        the script backpropagates."""
        self.probes.arm(trigger)

    def _act_on(self, trigger: Optional[str]) -> None:
        if trigger is None:
            return
        self.probes.trigger = trigger
        if self.closure is not None:
            self.probe_with_closure()
        else:
            self.probes.armed = True  # measured on the next batch the script backpropagates

    def report_step(self, s: StepStats, loss_known: bool, affordable: Optional[bool] = None) -> Optional[str]:
        """Emits the step event; returns "scheduled" when the hessian_every schedule wants a probe now."""
        stats = self.stats
        if stats is not None and stats.failures:  # said before the step that lacks them
            failures, stats.failures = stats.failures, []
            for layer, quantity, reason, n in failures:
                degrade.switch_off(self, "statistics", reason, layer=layer, parameters=n, quantity=quantity)
        params = None
        if self.n_parameters <= 2:
            params = [float(x) for p in self.stats.flat for x in p.detach().reshape(-1).tolist()]  # type: ignore[union-attr]
        layers = self.thinning.layers(self.steps, s.loss if loss_known else None, s.grad_norm, s.layers)
        self.report.step(self.steps, s, loss_known, params, step_facts(s, loss_known, self.layout, self.activity), layers,
                         not self.waits)
        # Automatic probes may take PROBE_BUDGET of the run's work (counted in HVPs); scheduled and explicit
        # probes are what the user asked for.
        probes = self.probes
        if affordable is None:
            affordable = self.cadence.hessian_every > 0 or self.closure is not None or probes.affordable_now(self.steps)
        probes.affordable = affordable
        loss = s.loss if loss_known else math.nan
        if (self.cadence.probe_scheduled(self.steps) and loss_known and math.isfinite(loss) and math.isfinite(s.grad_norm)
                and probes.possible and not self.distributed):
            return "scheduled"
        return None

    # -- curvature probes (probes.py) ------------------------------------------------------------------
    def probe_with_loss(self, loss: torch.Tensor) -> None:
        """Zero-code probe: the script is about to backpropagate `loss`, a live graph at the current
        parameters (those after `self.steps` updates), so its Hessian is measured before the optimizer
        moves them."""
        self.probes.armed = False
        self._run_probe(self._hvp_of(loss))

    def probe_with_closure(self) -> None:
        self.probes.armed = False
        assert self.closure is not None
        with torch.enable_grad():
            try:
                loss = self.closure()
            except RuntimeError:
                loss = None
            self._run_probe(self._hvp_of(loss) if loss is not None else None)

    def _hvp_of(self, loss: torch.Tensor) -> Optional[Any]:
        """H·v on the parameters whose second derivative this graph has (hessian.supported_hvp); the layers
        without one are left out of every probe of this run, each said once (degrade.py)."""
        layout = getattr(self, "layout", None)
        blocks = [(layer.name, layer.params) for layer in layout.layers] if layout is not None else []
        probes = self.probes
        if probes.excluded is None and blocks:
            complex_layers = [(name, block) for name, block in blocks if any(p.is_complex() for p in block)]
            if complex_layers:
                # Lanczos works on real vectors: complex parameters are left out, said once per layer.
                probes.excluded, probes.known = {id(p) for _, block in complex_layers for p in block}, set()
                if len(complex_layers) == len(blocks):
                    degrade.switch_off(self, "curvature", COMPLEX_NO_CURVATURE)
                    return None
                for name, block in complex_layers:
                    degrade.switch_off(self, "curvature", COMPLEX_NO_CURVATURE, layer=name,
                                       parameters=sum(p.numel() for p in block), fallback=degrade.REST)
        try:
            hvp, dropped, why = supported_hvp(loss, self.params(), blocks, probes.excluded, probes.known)
        except Exception as e:  # noqa: BLE001 - no first-order graph to differentiate again
            hvp, dropped, why = None, [], reason_of(e)
        sparse = {layer.name for layer in layout.layers if _sparse_gradients(layer.module)} if layout is not None else set()
        dropped = [(name, n, SPARSE_NO_CURVATURE if name in sparse else reason) for name, n, reason in dropped]
        if why is not None and sparse and all(name in sparse for name, block in blocks if block):
            why = SPARSE_NO_CURVATURE
        gone = {d[0] for d in dropped}
        probes.excluded = (probes.excluded or set()) | {id(p) for name, block in blocks if name in gone for p in block}
        if hvp is not None:
            probes.known = {id(p) for p in hvp.params}
        if hvp is None and why is not None:
            # Nothing left to probe: one note for the run (a run whose only layer failed is not said twice).
            degrade.switch_off(self, "curvature", why)
            if all(name in gone for name, block in blocks if block):
                return None
        for name, n, reason in dropped:
            degrade.switch_off(self, "curvature", reason, layer=name, parameters=n,
                               fallback=degrade.REST if hvp is not None else degrade.NONE)
        return hvp

    def _run_probe(self, hvp: Optional[Any]) -> None:
        if hvp is None:
            # Not twice differentiable through this graph (or no graph): no curvature for this run.
            if self.link is not None:
                self.probes.set_possible(False)
                self.link.send(ProbeUnavailable())
            else:
                self.probe_unavailable()
            return
        layout = getattr(self, "layout", None)
        layers = [(layer.name, layer.params) for layer in layout.layers] if layout is not None else None
        try:
            result = self.probes.measure(hvp, self.steps, layers)
        except Exception as e:  # noqa: BLE001 - a graph that fails later on: curvature off, the run goes on
            degrade.switch_off(self, "curvature", reason_of(e))
            self._run_probe(None)
            return
        if self.link is not None:
            self.link.send(result)
        else:
            self.publish_probe(result)

    # ----------------------------------------------------------------------------------------------
    def fail(self, e: BaseException) -> None:
        """Optiscope itself failed: say so once, close the run, and let training go on unwatched."""
        if self.ended:
            return
        where = " (in its helper process)" if self.in_helper else ""
        sys.stderr.write(f"optiscope: monitoring of {self.run} stopped after an internal error{where} ({type(e).__name__}: {e}); training continues.\n")
        error = self.report.error(e)
        link = self.link
        self.fast = None
        if link is not None:
            # The helper writes the error and `end` after every step it has; if it is gone, say it here.
            self.link = None
            alive = link.alive
            link.finish("stopped", error)
            if not alive:  # the helper is gone: this process closes the run (its last loss is ours)
                self.emit(error)
                self.end("stopped")
            elif self.activity is not None:
                self.activity.close()
            self.ended = True
            return
        self.emit(error)
        self.end("stopped")
        self.ended = True

    def end(self, reason: str) -> None:
        if self.ended or not self.started:
            self.ended = True
            return
        self.ended = True
        self.fast = None
        self.grad_norm.release()
        control.unregister(self)
        self.cadence.close()
        if self.activity is not None:
            self.activity.close()
        link = self.link
        if link is not None:  # the helper reports everything it has, then `end`
            self.link = None
            link.finish(reason)
            return
        self.report.end(self.steps, reason)
