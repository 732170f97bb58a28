"""The messages between the training process and its monitoring helper process (offload.py), in one place.

Each message is a named record whose `kind` is a word. The frequent ones (`grads`, `snapshot`, the
common `step`) travel as a few packed bytes in a slot of the shared ring (offload.py packs and unpacks
them into these same records); the rare or large ones are pickled through the pipe.

Training process → helper:
- GradsReady: the gradients the optimizer is about to read are in shared memory; the helper takes
  their norms now, while the optimizer updates.
- StepTaken: one monitored step was taken; the helper reads the parameters and state, acks, and reports it.
- LightStep: a step without per-layer statistics (cadence.py's light steps): its loss, gradient norm and
  lr, measured in the training process; the helper only writes its event (no ack: it reads nothing shared).
- Snapshot: the helper copies the parameters the next monitored step starts from (after unmonitored steps).
- GroupsChanged: the optimizer's hyperparameters changed (a scheduler, a user's edit).
- ProbeResult / ProbeUnavailable: a curvature probe measured in the training process, to be reported.
- Unsupported: a measurement switched off for one module (degrade.py): its `fact` event, to be written in its place.
- Finish: the run is over; the helper writes what it has, then `end` (and, first, `error` if any).
- HandBack: the run's layers changed (relayout.py); the helper writes what it has and exits without
  `end`: the training process measures the new layers (and may fork a new helper for them).

Helper → training process: acks and probe triggers, counters on the shared control page (offload.py).
"""
from dataclasses import dataclass, field
from typing import Any, Dict, List, NamedTuple, Optional, Tuple, Union


class StateMove(NamedTuple):
    """An optimizer state tensor the training process moved into the shared arena: where the helper finds it."""

    param: int  # index of its parameter in layout order
    key: str  # its key in the optimizer's state ("exp_avg", "step", ...)
    offset: int  # byte offset in the arena
    dtype: Any  # torch.dtype
    shape: List[int]


class ActivitySample(NamedTuple):
    """Dead or saturated units of one layer on a sampled forward pass, counted in the training process
    (activity.py): dead units are those never active, `count` of `units` were active; saturated, `count`
    of `units` were saturated."""

    layer: str
    what: str  # "dead" or "saturated"
    count: float
    units: int


@dataclass(frozen=True)
class GradsReady:
    kind: str = field(default="grads", init=False)


@dataclass(frozen=True)
class Snapshot:
    kind: str = field(default="snapshot", init=False)


@dataclass(frozen=True)
class StepTaken:
    """One monitored optimizer step (the parameters are those after it)."""

    step: int
    loss: Optional[float]  # None: the script's loss was not seen on this step
    lrs: List[Any]  # per param group, as the optimizer holds them (an int lr stays an int)
    affordable: bool  # an automatic curvature probe fits the work budget now (probes.py)
    possible: bool  # curvature can be measured on this run's graph
    rows: int  # the batch size the forward hooks saw (0: unknown)
    inplace: bool  # the gradients are the shared ones (else they were copied into the arena)
    missing: Tuple[int, ...] = ()  # parameters without a gradient on this step
    first_nonfinite_module: Optional[str] = None
    activity: List[ActivitySample] = field(default_factory=list)
    moved: List[StateMove] = field(default_factory=list)
    kind: str = field(default="step", init=False)


@dataclass(frozen=True)
class LightStep:
    """A step reported without per-layer statistics (the parameters are those after it)."""

    step: int
    loss: Optional[float]  # None: the script's loss was not seen on this step
    grad_norm: float  # the gradient the update used, all parameters
    lr: float  # the first param group's
    rows: int  # the batch size the forward hooks saw last (0: unknown)
    kind: str = field(default="light", init=False)


@dataclass(frozen=True)
class GroupsChanged:
    groups: List[Dict[str, Any]]  # each param group's hyperparameters (without "params")
    kind: str = field(default="groups", init=False)


@dataclass(frozen=True)
class ProbeResult:
    step: int
    values: List[float]  # the Ritz values, sorted
    hvps: int
    trigger: str
    lr: float
    extras: Optional[Dict[str, Any]] = None  # hessian.probe_extras: preconditioned sharpness, per-layer curvature
    kind: str = field(default="probe", init=False)


@dataclass(frozen=True)
class ProbeUnavailable:
    kind: str = field(default="probe-unavailable", init=False)


@dataclass(frozen=True)
class Unsupported:
    event: Dict[str, Any]  # the `fact` event (kind `unsupported`)
    kind: str = field(default="unsupported", init=False)


@dataclass(frozen=True)
class Finish:
    reason: str
    error: Optional[Dict[str, Any]] = None  # an `error` event to write before `end`
    kind: str = field(default="finish", init=False)


@dataclass(frozen=True)
class HandBack:
    kind: str = field(default="hand-back", init=False)


Record = Union[GradsReady, Snapshot, StepTaken, LightStep, GroupsChanged, ProbeResult, ProbeUnavailable, Unsupported, Finish, HandBack]
