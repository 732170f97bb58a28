"""One watched optimizer: turns its steps into `start`, `step`, `hessian` and `end` events. It measures and
reports; it does not judge: the warnings are decided on the Node side (src/engine/monitors/judge.ts), which
asks for curvature probes through the control channel (control.py)."""
import math
import os
import sys
import threading
import time
from collections import deque
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import torch
from torch import nn

from . import control, effective_lr, naming, offload
from .activity import ActivityProbe
from .channel import Channel
from .hessian import extremes, hvp_from_loss, lanczos, probe_extras
from .stats import StatsCollector, StepStats

Location = Tuple[str, int]


# Fraction of the training time the per-step statistics (as timed around step(); the forward hooks
# add about a third more) may add before the governor samples steps
# (OPTISCOPE_OVERHEAD), and the steps always monitored at the start of a run.
OVERHEAD_BUDGET = float(os.environ.get("OPTISCOPE_OVERHEAD", "0.03") or 0.03)
GOVERNOR_WARMUP = 20
# Models smaller than this are monitored at every step whatever the relative cost: their steps take
# less time than the statistics' fixed Python cost, yet nobody waits for a fraction of a millisecond,
# and their event streams stay deterministic (no timing in the decision).
GOVERNOR_MIN_PARAMETERS = 100_000
# Fraction of the run's wall time automatic curvature probes may take (OPTISCOPE_PROBE_BUDGET).
PROBE_BUDGET = float(os.environ.get("OPTISCOPE_PROBE_BUDGET", "0.03") or 0.0)
PROBE_FREE_SECONDS = 0.25
# With the helper process (offload.py), dead/saturated units are measured on the forward passes of the
# first ACTIVITY_WARMUP monitored steps and then of one monitored step in ACTIVITY_EVERY: the forward
# hooks that count them cost ~1µs per layer per step in the training process, the rest is free there.
ACTIVITY_WARMUP = 20
ACTIVITY_EVERY = 16
# Lanczos basis size (HVPs per probe); the Node side budgets automatic probes in these.
PROBE_ITERATIONS = 20
# Seconds a small model's run waits for the Node side's verdict on a step before it stops waiting for good
# (the Node side is gone or stuck; the run then goes on, its probes no longer at fixed steps).
JUDGE_TIMEOUT = 10.0
# Lock-step without a round trip per step: the Node side writes a `judged` record for every JUDGED_EVERY-th
# step event of a run (and for any step whose verdict asks for a probe; src/engine/monitors/stream-judge.ts
# JUDGED_EVERY), and a small model's run waits for the verdict on such a step only JUDGE_LAG steps later. The
# judge then keeps pace on its own (a wait rarely blocks), the control reader wakes once per JUDGED_EVERY
# steps, and a probe still lands at a fixed step: at the first wait that covers the step that asked for it.
JUDGED_EVERY = 8
JUDGE_LAG = 8


class StopTraining(BaseException):
    """Raised after the step budget (--steps) is spent. A BaseException, so a script's own
    `except Exception` cannot swallow it."""


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, "") or default)
    except ValueError:
        return default


def distributed_rank() -> Tuple[Optional[int], Optional[int]]:
    """(rank, world size) from the env:// variables, when this process is one rank of several."""
    if "WORLD_SIZE" not in os.environ or "RANK" not in os.environ:
        return None, None
    try:
        return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    except ValueError:
        return None, None


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
        # None: every step, unless that costs more than OVERHEAD_BUDGET of the training time (then the
        # governor spaces the monitored steps out); an explicit `every` is followed exactly.
        self.every = max(1, int(every)) if every else 1
        self.governed = not every
        self.monitor_time = 0.0
        self.wall_time = 0.0
        self._t_last_end: Optional[float] = None
        self._t_pre = 0.0
        self._next_monitored = True
        self._cost: Optional[float] = None
        self._cpu_only: Optional[bool] = None
        self.models = list(models)
        self.closure = closure
        self.script = script
        self.max_steps = max_steps
        self.hessian_every = max(0, int(hessian_every))
        self.rank, self.world = distributed_rank()
        base = type(optimizer).__name__.lower()
        Monitor._names[base] = Monitor._names.get(base, 0) + 1
        self.run = base if Monitor._names[base] == 1 else f"{base}-{Monitor._names[base]}"
        self.steps = 0
        self.monitored_steps = 0
        self.started = False
        self.ended = False
        self.stats: Optional[StatsCollector] = None
        self.probe_possible = True
        self.probe_affordable = True  # the time budget allows an automatic probe now (updated per step)
        # Lock-step with the Node side's judge (small models, see control.py): the answered steps
        # (JUDGED_EVERY) not yet awaited, and the last step the judge has read.
        self.lockstep = False
        self._reported: "deque[int]" = deque()
        self._judged = -1
        self._judged_cond = threading.Condition()
        self._asked: "deque[Tuple[int, str]]" = deque()  # (step judged, probe trigger) not yet armed
        self.activity: Optional[ActivityProbe] = None
        self.last_loss = math.nan
        self.best: Optional[Tuple[float, int]] = None
        self.t0 = time.time()
        self.monitoring_this_step = False
        self.closure_step = False
        self.probes = 0
        self.probe_armed = False
        self.probe_time = 0.0
        self.train_time = 0.0
        self.last_probe_cost: Optional[float] = None
        self._last_step_time: Optional[float] = None
        self._probe_time_since = 0.0
        self.last_grad_norm = math.nan
        # The helper process that computes and reports the steps (offload.py), once forked.
        self.link: Optional[offload.Link] = None
        self.fast: Optional[offload.FastStep] = None  # the common offloaded step's short path
        self.fast_steps = 0  # steps that took it
        self.in_helper = False
        self._nan_module: Optional[str] = None
        self._watched: Optional[Tuple[torch.Tensor, float]] = None  # the loss watch_loss read, and its value
        self._sampling_activity = False

    # ----------------------------------------------------------------------------------------------
    def emit(self, event: Dict[str, Any]) -> None:
        if "run" not in event and event.get("type") != "error":
            event["run"] = self.run
        elif event.get("type") == "error":
            event.setdefault("run", self.run)
        if self.rank is not None:
            event["rank"] = self.rank
        self.channel.emit(event)

    def params(self) -> List[torch.Tensor]:
        return [p for g in self.optimizer.param_groups for p in g["params"]]

    def _start(self) -> None:
        self.started = True
        candidates = self.models or naming.known_modules()
        layout = naming.build_layout(self.params(), candidates)
        self.layout = layout
        self.n_parameters = layout.parameters
        self.layer_names = [layer.name for layer in layout.layers]
        if layout.parameters < GOVERNOR_MIN_PARAMETERS:
            self.governed = False
        # Small models wait for each verdict (their probes then land at fixed steps: deterministic streams).
        self.lockstep = control.available() and layout.parameters < GOVERNOR_MIN_PARAMETERS and not (self.world is not None and self.world > 1)
        self.stats = StatsCollector(self.optimizer, layout)
        self.activity = ActivityProbe(layout, lambda: self.monitoring_next() and torch.is_grad_enabled())
        group = self.optimizer.param_groups[0] if self.optimizer.param_groups else {}
        hyper = {k: v for k, v in group.items() if k != "params" and isinstance(v, (int, float, bool, str, tuple, list))}
        event: Dict[str, Any] = {
            "type": "start",
            "protocol": 1,
            "config": {"optimizer": {"name": type(self.optimizer).__name__, **{k: list(v) if isinstance(v, tuple) else v for k, v in hyper.items()}},
                       "script": self.script, "every": self.every, "groups": len(self.optimizer.param_groups),
                       "hessianEvery": self.hessian_every,
                       # Optiscope's launcher asks this process for curvature probes (control.py)
                       "answersProbes": control.available() and not (self.world is not None and self.world > 1)},
            "parameters": layout.parameters,
            "layers": [self._layer_facts(layer) for layer in layout.layers],
            "optimizer": type(self.optimizer).__name__,
            "source": "pytorch",
            "time": datetime.now(timezone.utc).isoformat(),
        }
        if self.script:
            event["file"] = self.script
        if self.max_steps:
            event["totalSteps"] = self.max_steps
        if self.world is not None:
            event["worldSize"] = self.world
        if self.source is not None:
            event["locations"] = {"optimizer": {"file": self.source[0], "line": self.source[1]}}
        self.emit(event)
        control.register(self)

    def _layer_facts(self, layer: "naming.Layer") -> Dict[str, Any]:
        """A layer of the start event: its size, the activation whose units can die or saturate, its line."""
        facts: Dict[str, Any] = {"name": layer.name, "parameters": sum(p.numel() for p in layer.params)}
        assert self.activity is not None
        activation = self.activity.activation_of(layer.name)
        if activation is not None:
            facts["activation"] = activation
        if layer.source is not None:
            facts["location"] = {"file": layer.source[0], "line": layer.source[1]}
        info = naming.module_info(layer.module)
        if info is not None:
            facts["module"] = info
        return facts

    def _clock(self) -> float:
        """CPU time of this process when training runs on the CPU (immune to other processes taking
        the machine), wall time when an accelerator does the work (its time is not this CPU's)."""
        if self._cpu_only is None:
            self._cpu_only = all(p.device.type == "cpu" for p in self.params())
        return time.process_time() if self._cpu_only else time.perf_counter()

    def monitoring_next(self) -> bool:
        """True when the coming optimizer step will be monitored (its forward passes are observed)."""
        return self._next_monitored

    def _decide_next(self, spent: float) -> None:
        """After a step: will the next one be monitored? With an explicit `every`, every N-th step. Else
        every step while the monitoring time stays within OVERHEAD_BUDGET of the training time so far
        (the first GOVERNOR_WARMUP steps always, so every run starts with full data)."""
        if not self.governed:  # no clock reads: ~1µs a step that only the governor needs
            self._next_monitored = (self.steps + 1) % self.every == 0
            return
        now = self._clock()
        self.monitor_time += spent
        if self._t_last_end is not None:
            self.wall_time += now - self._t_last_end
        self._t_last_end = now
        if spent > 0:
            self._cost = spent if self._cost is None else 0.8 * self._cost + 0.2 * spent
        if self.steps <= GOVERNOR_WARMUP:
            self._next_monitored = True
            if self.steps == GOVERNOR_WARMUP:  # the budget counts from here: no debt from the warm-up
                self.monitor_time = self.wall_time = 0.0
            return
        train = self.wall_time - self.monitor_time
        self._next_monitored = self.monitor_time + (self._cost or 0.0) <= OVERHEAD_BUDGET * max(train, 0.0)

    # ----------------------------------------------------------------------------------------------
    def pre_step(self, with_closure: bool, loss: Optional[torch.Tensor] = None) -> None:
        """Before step(); `loss` is the step's loss when it is known already (no closure)."""
        if self.ended:
            return
        governed = self.governed
        t0 = self._clock() if governed else 0.0
        if not self.started:
            self._start()
        self.monitoring_this_step = self.monitoring_next()
        self.closure_step = with_closure
        link = self.link
        if link is not None:
            if loss is not None:
                self.watch_loss(loss)
            self.arm_probe(link.wait())  # the helper has read the last step: the parameters may change now
            if self.monitoring_this_step:
                link.copy_grads()
        elif self.monitoring_this_step and self.stats is not None:
            self.stats.before(with_closure)
        self._t_pre = self._clock() - t0 if governed else 0.0

    def post_step(self, loss: Optional[torch.Tensor]) -> None:
        if self.ended:
            return
        governed = self.governed
        t0 = self._clock() if governed else 0.0
        self.steps += 1
        link = self.link
        if link is not None:
            self._post_offloaded(link, loss)
        elif self.monitoring_this_step and self.stats is not None:
            self.count_monitored()
            flags, act = self.activity.take() if self.activity else ([], [])
            s = self.stats.after(loss, flags, act)
            self._act_on(self._report(s, loss is not None))
            if self.closure is not None and not self.ended:
                self.await_judged()
            if self.probe_armed and self.closure is not None and not self.ended:
                self.probe_with_closure()  # asked for by the Node side: the closure replays the batch now
            if self.monitored_steps == 1 and not self.ended:
                self._offload()
        elif self.activity is not None:
            self.activity.take()
        spent = self._t_pre + (self._clock() - t0) - self._probe_time_since if governed else 0.0
        self._decide_next(max(spent, 0.0) if self.monitoring_this_step else 0.0)
        if self.link is not None:
            if not self.monitoring_this_step and self._next_monitored:
                self.link.snap()  # the helper copies the parameters the next monitored step starts from
            self.plan_activity()
        if self.max_steps is not None and self.steps >= self.max_steps:
            raise StopTraining()

    # -- the helper process (offload.py) ---------------------------------------------------------------
    def _offload(self) -> None:
        """After the first monitored step (reported inline, so the helper inherits it): fork the helper
        when this run allows it; else stay inline."""
        if offload.eligible(self) is not None:
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
        if self.activity is None:
            return
        n = self.monitored_steps + 1
        want = self._next_monitored and (n <= ACTIVITY_WARMUP or n % ACTIVITY_EVERY == 0)
        if want != self._sampling_activity:
            self._sampling_activity = want
            if want:
                self.activity.attach(finite=False)
            else:
                self.activity.detach()

    def _post_offloaded(self, link: "offload.Link", loss: Optional[torch.Tensor]) -> None:
        if not self.monitoring_this_step:
            return
        self.count_monitored()
        act: list = []
        if self._sampling_activity and self.activity is not None:
            act = self.activity.take_host()
        first_module, self._nan_module = self._nan_module, None
        affordable = self.hessian_every > 0 or self._probe_affordable()
        self.probe_affordable = affordable
        watched, self._watched = self._watched, None
        value = None if loss is None else watched[1] if watched is not None and watched[0] is loss else loss.item()
        if value is not None:
            self.last_loss = value
        link.step(value, first_module, act,
                  self.activity.batch_rows if self.activity else 0, affordable)
        self.arm_probe(link.take_trigger())
        # Scheduled probes are armed here: the probe then measures the parameters after this step, as inline.
        every = self.hessian_every
        if (every > 0 and self.steps % every == 0 and value is not None and math.isfinite(value) and self.probe_possible
                and not (self.world is not None and self.world > 1)):
            self.arm_probe("scheduled")

    def watch_loss(self, loss: torch.Tensor) -> None:
        """Offloaded runs have no per-module finiteness hooks: when the loss the script backpropagates is
        NaN/Inf, the last forward pass is replayed with them to find the first module that went bad
        (before step() moves the parameters: in pre_step, or at backward() inside step(closure))."""
        value = loss.item()
        self._watched = (loss, value)  # post_step reads the same loss: one host read, not two
        if self._nan_module is None and self.activity is not None and not math.isfinite(value):
            self._nan_module = self.activity.replay_first_nonfinite()

    def helper_read(self, msg: tuple, grad_views: List[torch.Tensor]) -> StepStats:
        """In the helper: the statistics of one step the training process sent (everything that reads
        the shared parameters and state; the training process waits for this part only)."""
        _, step, loss, lrs, missing, first_module, activity, rows, affordable, possible, _, _, inplace = msg
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self.steps = step
        self.monitored_steps += 1
        self.probe_possible = possible
        stats = self.stats
        assert stats is not None
        if not inplace:  # the gradients were copied into the arena (their norms are taken from there)
            stats.clear_grad_norms()
            for i, (p, g) in enumerate(zip(stats.flat, grad_views)):
                p.grad = None if missing and i in missing else g
        s = stats.after(None, host_activity=activity)
        s.loss = loss if loss is not None else math.nan
        s.first_nonfinite_module = first_module
        if activity and self.activity is not None:
            self.activity.batch_rows = rows
        return s

    def helper_report(self, s: StepStats, msg: tuple) -> Optional[str]:
        """In the helper: the step event and the detectors; returns the probe trigger, if any."""
        trigger = self._report(s, msg[2] is not None, msg[8])
        return trigger if self.closure is None else None

    def publish_probe(self, step: int, values: List[float], hvps: int, trigger: str, lr: float,
                      extras: Optional[Dict[str, Any]] = None) -> None:
        """A curvature probe's result: the hessian event (the Node side judges it), with what the probe
        measured beyond the extreme eigenvalues (preconditioned sharpness, per-layer curvature: hessian.py)."""
        self.emit({"type": "hessian", "step": step, "lambdaMax": values[-1], "lambdaMin": values[0],
                   "eigenvalues": extremes(values), "hvps": hvps, "trigger": trigger, "lrSharpness": lr * values[-1],
                   **(extras or {})})

    def probe_unavailable(self) -> None:
        self.probe_possible = False

    def request_probe(self, trigger: str) -> None:
        """The Node side's judge asks for curvature: measured on the next batch the script backpropagates,
        or by the closure after the next step. Declined when the graph cannot give it, in a distributed
        run, or (large models, not in lock-step) when automatic probes would exceed their time budget; the
        judge budgets them in HVPs, counted work, so in lock-step wall time decides nothing."""
        if self.ended or not self.probe_possible or self.probe_armed or (self.world is not None and self.world > 1):
            return
        if PROBE_BUDGET <= 0:  # OPTISCOPE_PROBE_BUDGET=0: no automatic probes at all
            return
        if not self.lockstep and not self.probe_affordable:
            return
        self.trigger = trigger
        self.probe_armed = True

    # -- the Node side's verdicts (control.py) ---------------------------------------------------------
    def count_monitored(self) -> None:
        """A monitored step: its event goes to the judge (inline, or by the helper process)."""
        self.monitored_steps += 1
        if self.lockstep and self.monitored_steps % JUDGED_EVERY == 0:  # a step the Node side answers for
            self._reported.append(self.steps)

    def on_judged(self, record: "control.Judged") -> None:
        """From the control reader thread: the judge has read `record.step` (and may want a probe)."""
        with self._judged_cond:
            if record.probe:
                if self.lockstep:
                    self._asked.append((record.step, record.probe))  # armed by await_judged, at a fixed step
                else:
                    self.request_probe(record.probe)
            self._judged = max(self._judged, record.step)
            self._judged_cond.notify_all()

    def on_control_closed(self) -> None:
        with self._judged_cond:
            self.lockstep = False
            self._judged_cond.notify_all()

    def await_judged(self) -> None:
        """Before backpropagating at the parameters after N updates: wait for the verdicts up to the last
        answered step (JUDGED_EVERY) at or before N - JUDGE_LAG, then arm a probe asked for up to there, so
        a probe the judge asked for lands at the same step every run."""
        if not self.lockstep:
            return
        limit = self.steps - JUDGE_LAG
        target = -1
        while self._reported and self._reported[0] <= limit:
            target = self._reported.popleft()
        if target < 0:
            return
        asked: Optional[Tuple[int, str]] = None
        with self._judged_cond:
            if self._judged < target and not self._judged_cond.wait_for(
                    lambda: self._judged >= target or not self.lockstep, timeout=JUDGE_TIMEOUT):
                self.lockstep = False
                sys.stderr.write(f"optiscope: no verdict on step {target} of {self.run} within {JUDGE_TIMEOUT:g} s; "
                                 "training goes on without waiting for them.\n")
            # A verdict that came early waits for its own step; the judge has at most one probe pending.
            while self._asked and (self._asked[0][0] <= target or not self.lockstep):
                asked = asked or self._asked[0]
                self._asked.popleft()
        if asked is not None:
            self.request_probe(asked[1])

    def arm_probe(self, trigger: Optional[str]) -> None:
        """An offloaded run's curvature probe (asked for by the helper's detectors, or scheduled): measured
        on the next batch the script backpropagates."""
        if trigger:
            self.trigger = trigger
            self.probe_armed = True

    def _act_on(self, trigger: Optional[str]) -> None:
        if trigger is None:
            return
        self.trigger = trigger
        if self.closure is not None:
            self.probe_with_closure()
        else:
            self.probe_armed = True  # measured on the next batch the script backpropagates

    def _report(self, s: StepStats, loss_known: bool, affordable: Optional[bool] = None) -> Optional[str]:
        """Emits the step event; returns "scheduled" when the hessian_every schedule wants a probe now."""
        loss = s.loss if loss_known else math.nan
        if loss_known:
            self.last_loss = loss
        self.last_grad_norm = s.grad_norm
        if loss_known and not math.isnan(loss) and not math.isinf(loss) and (self.best is None or loss < self.best[0]):
            self.best = (loss, self.steps)
        event: Dict[str, Any] = {"type": "step", "step": self.steps, "epoch": 0, "loss": loss, "lr": s.lr,
                                 "gradNorm": s.grad_norm, "layers": s.layers}
        if self.n_parameters <= 2:
            event["params"] = [float(x) for p in self.stats.flat for x in p.detach().reshape(-1).tolist()]  # type: ignore[union-attr]
        facts = self._step_facts(s, loss_known)
        if facts:
            event["facts"] = facts
        self.emit(event)
        # Automatic probes may take PROBE_BUDGET of the run's wall time (a mid-size MLP's 20 HVPs cost
        # about 55 training steps); scheduled and explicit probes are what the user asked for.
        if affordable is None:
            affordable = self.hessian_every > 0 or self.closure is not None or self._probe_affordable()
        self.probe_affordable = affordable
        every = self.hessian_every
        if (every > 0 and self.steps % every == 0 and loss_known and math.isfinite(loss) and math.isfinite(s.grad_norm)
                and self.probe_possible and not (self.world is not None and self.world > 1)):
            return "scheduled"
        return None

    def _step_facts(self, s: StepStats, loss_known: bool) -> Dict[str, Any]:
        """What the hooks saw on this step that the per-layer numbers do not carry (the step event's `facts`)."""
        facts: Dict[str, Any] = {}
        rows = self.activity.batch_rows if self.activity else 0
        if rows:
            facts["batchSize"] = rows
        if not loss_known:
            facts["lossUnknown"] = True
        gn, wn = s.param_grad_norms, s.param_weight_norms
        if not math.isfinite(sum(gn) + sum(wn)):  # a sum of norms is finite exactly when they all are (or overflows)
            pos = 0
            for layer in self.layout.layers:
                n = len(layer.params)
                for name, g, w in zip(layer.param_names, gn[pos : pos + n], wn[pos : pos + n]):
                    if not (math.isfinite(g) and math.isfinite(w)):
                        facts["nonFiniteParameter"] = name
                        break
                if "nonFiniteParameter" in facts:
                    break
                pos += n
        if s.first_nonfinite_module:
            facts["nonFiniteModule"] = s.first_nonfinite_module
        return facts

    # ----------------------------------------------------------------------------------------------
    def _probe_affordable(self) -> bool:
        if PROBE_BUDGET <= 0:  # OPTISCOPE_PROBE_BUDGET=0: no automatic probes at all
            return False
        now = time.perf_counter()
        if self._last_step_time is not None:
            self.train_time += now - self._last_step_time - self._probe_time_since
        self._last_step_time = now
        self._probe_time_since = 0.0
        monitored = max(1, self.steps)
        estimate = self.last_probe_cost if self.last_probe_cost is not None else PROBE_ITERATIONS * 3.0 * self.train_time / monitored
        # Small models get a few probes whatever their training time: PROBE_FREE_SECONDS in all.
        return self.probe_time + estimate <= max(PROBE_BUDGET * self.train_time, PROBE_FREE_SECONDS)

    def probe_with_loss(self, loss: torch.Tensor) -> None:
        """Zero-code probe: the script is about to backpropagate `loss`, a live graph at the current
        parameters (those after `self.steps` updates), so its Hessian is measured before the optimizer
        moves them."""
        self.probe_armed = False
        try:
            hvp = hvp_from_loss(loss, self.params())
        except RuntimeError:
            hvp = None
        self._run_probe(hvp)

    def probe_with_closure(self) -> None:
        self.probe_armed = False
        assert self.closure is not None
        with torch.enable_grad():
            try:
                hvp = hvp_from_loss(self.closure(), self.params())
            except RuntimeError:
                hvp = None
            self._run_probe(hvp)

    def _run_probe(self, hvp: Optional[Any]) -> None:
        if hvp is None:
            # Not twice differentiable through this graph (or no graph): no curvature for this run.
            if self.link is not None:
                self.probe_possible = False
                self.link.send(("f",))
            else:
                self.probe_unavailable()
            return
        t0 = time.perf_counter()
        values, hvps = lanczos(hvp, hvp.params, iterations=PROBE_ITERATIONS, seed=self.probes)
        trigger = getattr(self, "trigger", "request")
        blocks = [(l.name, l.params) for l in self.layout.layers] if trigger in ("scheduled", "request") and getattr(self, "layout", None) else None
        extras, extra_hvps = probe_extras(self.optimizer, hvp, PROBE_ITERATIONS, self.probes, blocks)
        hvps += extra_hvps
        cost = time.perf_counter() - t0
        self.probe_time += cost
        self._probe_time_since += cost
        self.last_probe_cost = cost
        self.probes += 1
        lr = effective_lr.group_lrs(self.optimizer)[0] if self.optimizer.param_groups else 0.0
        if self.link is not None:
            self.link.send(("p", self.steps, values, hvps, trigger, lr, extras))
        else:
            self.publish_probe(self.steps, values, hvps, trigger, lr, extras)

    # ----------------------------------------------------------------------------------------------
    def fail(self, e: BaseException) -> None:
        """Optiscope itself failed: say so once, close the run, and let training go on unwatched."""
        if self.ended:
            return
        import sys
        import traceback

        where = " (in its helper process)" if self.in_helper else ""
        sys.stderr.write(f"optiscope: monitoring of {self.run} stopped after an internal error{where} ({type(e).__name__}: {e}); training continues.\n")
        error = {"type": "error", "message": f"Optiscope stopped monitoring {self.run}: {type(e).__name__}: {e}",
                 "detail": "".join(traceback.format_exception(type(e), e, e.__traceback__))}
        link = self.link
        self.fast = None
        if link is not None:
            # The helper writes the error and `end` after every step it has; if it is gone, say it here.
            self.link = None
            alive = link.alive
            link.finish("stopped", self._stamp(error))
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

    def _stamp(self, event: Dict[str, Any]) -> Dict[str, Any]:
        event.setdefault("run", self.run)
        if self.rank is not None:
            event["rank"] = self.rank
        return event

    def end(self, reason: str) -> None:
        if self.ended or not self.started:
            self.ended = True
            return
        self.ended = True
        self.fast = None
        control.unregister(self)
        if self.activity is not None:
            self.activity.close()
        link = self.link
        if link is not None:  # the helper reports everything it has, then `end`
            self.link = None
            link.finish(reason)
            return
        event: Dict[str, Any] = {"type": "end", "steps": self.steps, "loss": self.last_loss, "reason": reason,
                                 "wallMs": (time.time() - self.t0) * 1000.0}
        if self.best is not None:
            event["bestLoss"], event["bestStep"] = self.best
        self.emit(event)
