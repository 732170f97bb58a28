"""Mirror of src/engine/monitors/view.ts: what a detector sees, and the derived quantities the rules share."""
import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from .history import RunHistory, finite

ADAPTIVE = {"adagrad", "adadelta", "rmsprop", "adam", "amsgrad", "adamax", "nadam", "adamw"}


@dataclass
class OptimizerSpec:
    """The engine's optimizer names for a torch optimizer (`sgd`, `momentum`, `nesterov`, `adam`, ...)."""

    name: str
    lr: float
    momentum: float = 0.0
    dampening: float = 0.0

    @staticmethod
    def of(optimizer: Any) -> "OptimizerSpec":
        group = optimizer.param_groups[0] if optimizer.param_groups else {}
        cls = type(optimizer).__name__
        lr = float(group.get("lr", 0.0) or 0.0)
        if cls == "SGD":
            mu = float(group.get("momentum", 0.0) or 0.0)
            name = "sgd" if mu == 0 else ("nesterov" if group.get("nesterov") else "momentum")
            return OptimizerSpec(name, lr, mu, float(group.get("dampening", 0.0) or 0.0))
        if cls == "Adam" and group.get("amsgrad"):
            return OptimizerSpec("amsgrad", lr)
        return OptimizerSpec(cls.lower(), lr)


def is_adaptive(o: OptimizerSpec) -> bool:
    return o.name in ADAPTIVE


def stability_edge(o: OptimizerSpec) -> float:
    """Largest lr·λ_max for which the optimizer is stable on a quadratic; NaN for adaptive (and unknown) ones."""
    if o.name == "sgd":
        return 2.0
    if o.name == "momentum":
        return 2 * (1 + o.momentum) / max(1 - o.dampening, 1e-12)
    if o.name == "nesterov":
        return 2 * (1 + o.momentum) / (1 + 2 * o.momentum)
    return math.nan


@dataclass
class Layer:
    name: str
    size: int
    can_die: bool = False
    can_saturate: bool = False


@dataclass
class Stats:
    grad_norm: List[float]
    weight_norm: List[float]
    update_norm: List[float]
    eff_p50: List[float]
    grad_non_finite: List[bool]
    param_non_finite: List[bool]
    dead: List[float]
    saturated: List[float]
    has_activity: bool


@dataclass
class ProbeRecord:
    step: int
    lambda_max: float
    lambda_min: float
    hvps: int
    lr_sharpness: float
    lr_eff: float
    trigger: str
    near_critical: bool


@dataclass
class View:
    step: int
    total_steps: int
    window: int
    rules: Dict[str, Any]
    optimizer: OptimizerSpec
    layers: List[Layer]
    history: RunHistory
    stats: Stats
    stats_fresh: bool
    lr: float
    grad_norm: float
    loss: float
    batch_size: int
    full_batch: bool
    loss_floor: float
    probe: Optional[ProbeRecord]
    step_efficiency: float
    step_efficiency_peak: float
    eff_lr_p50: float
    eff_lr_p50_peak: float
    eff_lr_p50_first: float
    update_ratio: float
    network: bool = True


def loss_still_high(v: View, fraction: float) -> bool:
    now = v.history.smoothed()
    init = v.history.initial_loss
    if not finite(v.loss_floor):
        return True
    span = init - v.loss_floor
    if not span > 0:
        return False
    return now - v.loss_floor >= fraction * span


def progress_slow(v: View, halvings: Optional[float] = None) -> bool:
    halvings = v.rules.get("slowHalvings", 1) if halvings is None else halvings
    rate = v.history.progress_per_step(v.loss_floor)
    if math.isnan(rate):
        return False
    return rate * max(v.total_steps, 4 * v.window) < math.log(2) * halvings


def gradient_small(v: View) -> bool:
    c = v.rules["curvature"]
    g = v.history.smoothed_grad(min(3, v.window))
    return g <= c["smallGradient"] * v.history.max_grad_norm or g <= c["smallGradientAbs"]


def round2(x: float) -> float:
    """Two significant digits: suggested values read like something a person would type."""
    if not finite(x) or x == 0:
        return x
    p = 10 ** (math.floor(math.log10(abs(x))) - 1)
    return float(f"{math.floor(x / p + 0.5) * p:.12g}")


def suggested_lr(v: View, fallback_factor: float) -> float:
    p = v.probe
    edge = stability_edge(v.optimizer)
    if p is not None and p.lambda_max > 0 and finite(edge):
        return round2(edge / 2 / p.lambda_max)
    return round2(v.optimizer.lr * fallback_factor)


def optimizer_path(_v: View, key: str) -> str:
    return f"training.optimizer.{key}"


def fmt(x: float) -> str:
    """gradient-flow.ts fmt: three significant digits, exponent form for very large or small values."""
    if not finite(x):
        return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1e4 or a < 1e-3:
        m, e = f"{x:.1e}".split("e")
        return f"{m}e{'+' if int(e) >= 0 else '-'}{abs(int(e))}"
    return f"{float(f'{x:.3g}'):.12g}"
