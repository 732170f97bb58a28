"""Effective learning rate: the step size the optimizer applied per unit of gradient, per parameter,
read from the optimizer's own state after its update (the same definitions as the engine's
src/engine/optim/optimizers.ts and docs/monitors.md):

  SGD (any momentum)      lr
  Adam / AdamW / AMSGrad  lr / (1 − β₁ᵗ) / (√(v / (1 − β₂ᵗ)) + ε)        (AMSGrad: v = max v)
  Adamax                  lr / (1 − β₁ᵗ) / u
  NAdam                   lr · (1 − μₜ)/(1 − Πₜ) / (√(v / (1 − β₂ᵗ)) + ε)   (the gradient's own coefficient)
  RMSprop                 lr / (√(E[g²] − centered·E[g]²) + ε)
  Adagrad                 lr / (1 + (t − 1)·lr_decay) / (√G + ε)
  Adadelta                lr · √(E[Δ²] + ε) / √(E[g²] + ε)   (E[Δ²] before this update, E[g²] after)

Adadelta's numerator is the state *before* the update, so it is computed by `pre_step`; every other
rule reads the state after the update. Optimizers not listed report their group's lr.
"""
import math
from math import copysign, inf, nan, sqrt
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch

ADAPTIVE = {"Adam", "AdamW", "Adamax", "NAdam", "RMSprop", "Adagrad", "Adadelta"}


def _f(x: Any) -> float:
    return float(x.item()) if isinstance(x, torch.Tensor) else float(x)


_KINDS: Dict[type, str] = {}


def _kind(optimizer: torch.optim.Optimizer) -> str:
    cached = _KINDS.get(type(optimizer))
    if cached is not None:
        return cached
    kind = type(optimizer).__name__
    for cls in type(optimizer).__mro__:
        if cls.__name__ in ADAPTIVE or cls.__name__ == "SGD":
            kind = cls.__name__
            break
    _KINDS[type(optimizer)] = kind
    return kind


def _recip(x: float) -> float:
    """1/x as torch computes it (IEEE: ±inf at ±0, NaN stays NaN)."""
    return 1.0 / x if x != 0 else math.copysign(math.inf, x)


def _sqrt(x: float) -> float:
    """√x as torch computes it (NaN below zero)."""
    return math.sqrt(x) if x >= 0 else math.nan


# The host maps of EffSource.host, by rule: scale · _recip(d) with d, of the state value k,
#   "adam"   _sqrt(k) / bc2 + eps   (Adam, AdamW)
#   "rms"    _sqrt(k) + eps         (RMSprop, Adagrad)
#   "nadam"  _sqrt(k / bc2) + eps
#   "recip"  k                      (Adamax)
# _recip and _sqrt written out in one function: the helper process calls it four times per layer at every
# step (flat_stats.FlatStats._bands), and nested Python calls cost more than the arithmetic. The same
# operations in the same order as composed, so the same floats (test_fast_paths checks both). The rule is
# told apart by flags, the commonest first: a test or three more a call than a function per rule, no call.
def _host(rule: str, scale: float, bc2: float = 1.0, eps: float = 0.0) -> Callable[[float], float]:
    assert rule in ("adam", "rms", "nadam", "recip"), rule
    adam, rms, nadam = rule == "adam", rule == "rms", rule == "nadam"

    def host(k: float) -> float:
        if adam:
            k = (sqrt(k) if k >= 0 else nan) / bc2 + eps
        elif rms:
            k = (sqrt(k) if k >= 0 else nan) + eps
        elif nadam:
            k = k / bc2
            k = (sqrt(k) if k >= 0 else nan) + eps
        return scale * (1.0 / k if k != 0 else copysign(inf, k))
    return host


def is_adaptive(optimizer: torch.optim.Optimizer) -> bool:
    return _kind(optimizer) in ADAPTIVE


def pre_step(optimizer: torch.optim.Optimizer, p: torch.Tensor, group: Dict[str, Any]) -> Optional[torch.Tensor]:
    """Effective lr that needs the state before the update (Adadelta); None for the others."""
    if _kind(optimizer) != "Adadelta" or p.grad is None:
        return None
    state = optimizer.state.get(p, {})
    g = p.grad.detach().to(torch.float64)
    if group.get("weight_decay", 0):
        g = g + group["weight_decay"] * p.detach().to(torch.float64)
    rho, eps, lr = group["rho"], group["eps"], group["lr"]
    sq = state.get("square_avg")
    acc = state.get("acc_delta")
    sq_new = (1 - rho) * g * g if sq is None else rho * sq.to(torch.float64) + (1 - rho) * g * g
    num = torch.full_like(g, math.sqrt(eps)) if acc is None else (acc.to(torch.float64) + eps).sqrt()
    return lr * num / (sq_new + eps).sqrt()


@dataclass
class EffSource:
    """The effective lr of one parameter as a monotone function of one state tensor: summaries (min,
    max, median) are taken on `key` and mapped through `fn`, so the full per-element effective-lr
    tensor never has to be built (the per-step cost is one min/max pass and a small sample)."""

    key: torch.Tensor
    fn: Callable[[torch.Tensor], torch.Tensor]
    decreasing: bool = True
    # Sources with equal signatures apply the same function (same rule, group constants and step), so
    # a layer's weight and bias are summarised together with one call of `fn`.
    signature: Optional[tuple] = None
    # `fn` on one host float, with exactly torch's float64 operations (`a / t` is `t.reciprocal() * a`
    # in torch; the square root, divisions and additions are IEEE on both sides), so a few order
    # statistics of `key` map to effective lrs on the host without another device call. On the CPU the
    # results are bit-identical to `fn` (python/tests/test_effective_lr.py checks it).
    host: Optional[Callable[[float], float]] = None


def post_step(optimizer: torch.optim.Optimizer, p: torch.Tensor, group: Dict[str, Any]) -> Optional[EffSource]:
    """The effective lr of `p` after the update, from the optimizer's state, or None when the rule is a
    constant (SGD and unknown optimizers: the group's lr)."""
    kind = _kind(optimizer)
    state = optimizer.state.get(p)
    if not state or kind not in ADAPTIVE or kind == "Adadelta":
        return None
    lr = _f(group["lr"])
    t = _f(state["step"]) if "step" in state else 1.0
    eps = float(group.get("eps", 0.0))
    if kind in ("Adam", "AdamW"):
        b1, b2 = group["betas"]
        v = state["max_exp_avg_sq"] if group.get("amsgrad") and "max_exp_avg_sq" in state else state["exp_avg_sq"]
        step_size, bc2 = lr / (1 - b1**t), math.sqrt(1 - b2**t)
        # torch's own order of operations: √v / √(1 − β₂ᵗ) + ε.
        return EffSource(v, lambda k: step_size / (k.to(torch.float64).sqrt() / bc2 + eps), True, ("adam", step_size, bc2, eps),
                         _host("adam", step_size, bc2, eps))
    if kind == "Adamax":
        b1, _ = group["betas"]
        clr = lr / (1 - b1**t)
        return EffSource(state["exp_inf"], lambda k: clr / k.to(torch.float64), True, ("adamax", clr), _host("recip", clr))
    if kind == "NAdam":
        b1, b2 = group["betas"]
        psi = group.get("momentum_decay", 4e-3)
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        prod = _f(state["mu_product"])  # Π μ₁…μₜ, already multiplied by μₜ
        coef, bc2 = lr * (1 - mu) / (1 - prod), 1 - b2**t
        return EffSource(state["exp_avg_sq"], lambda k: coef / ((k.to(torch.float64) / bc2).sqrt() + eps), True, ("nadam", coef, bc2, eps),
                         _host("nadam", coef, bc2, eps))
    if kind == "RMSprop":
        sq = state["square_avg"]
        if group.get("centered") and "grad_avg" in state:
            sq = torch.addcmul(sq, state["grad_avg"], state["grad_avg"], value=-1)
        return EffSource(sq, lambda k: lr / (k.to(torch.float64).sqrt() + eps), True, ("rms", lr, eps), _host("rms", lr, eps=eps))
    if kind == "Adagrad":
        clr = lr / (1 + (t - 1) * group.get("lr_decay", 0.0))
        return EffSource(state["sum"], lambda k: clr / (k.to(torch.float64).sqrt() + eps), True, ("rms", clr, eps),
                         _host("rms", clr, eps=eps))
    return None


def post_step_tensor(optimizer: torch.optim.Optimizer, p: torch.Tensor, group: Dict[str, Any]) -> Optional[torch.Tensor]:
    """The full per-element effective lr (float64), for tests and small models."""
    src = post_step(optimizer, p, group)
    return None if src is None else src.fn(src.key)


def group_lrs(optimizer: torch.optim.Optimizer) -> List[float]:
    return [_f(g["lr"]) for g in optimizer.param_groups]


def zero_gradient(grad: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """Where the gradient is exactly zero (a bool tensor), taken when the gradient is read: a helper
    process reads the step's gradients while the optimizer updates, before the next zero_grad()."""
    if grad is None or grad.is_sparse:
        return None
    return grad == 0


def with_gradient(src: EffSource, zero: Optional[torch.Tensor]) -> Tuple[EffSource, Optional[torch.Tensor]]:
    """`src` restricted to the elements that received a gradient this step (`zero`: zero_gradient()),
    and how many did not.

    One definition with the engine (src/engine/monitors/stats.ts): a parameter whose gradient is exactly
    zero (a dead unit, an unused embedding row) has no step to measure (Adam would report lr/ε for it),
    so it is left out of the band and counted apart. Left-out elements become NaN in the key; the
    summary ignores NaN keys (`nan_minmax`, `torch.nanmedian`). Stays on the device (no host read)."""
    key = src.key.detach()
    if key.is_complex():
        # A complex parameter: torch's optimizers update its real and imaginary parts as two real elements
        # (view_as_real), each with its own moment in the real and imaginary parts of the complex state.
        key = torch.view_as_real(key)
        if zero is not None and zero.shape == src.key.shape:
            return EffSource(key.masked_fill(zero.unsqueeze(-1).expand_as(key), math.nan), src.fn, src.decreasing,
                             src.signature, src.host), zero.sum()
        return EffSource(key, src.fn, src.decreasing, src.signature, src.host), None
    if zero is None or zero.shape != src.key.shape:
        return src, None
    key = key.to(torch.float64) if not key.is_floating_point() else key
    return EffSource(key.masked_fill(zero, math.nan), src.fn, src.decreasing, src.signature, src.host), zero.sum()


def nan_minmax(k: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """(min, max) of `k` ignoring NaN: +inf and −inf when every value is NaN (the caller reads an empty
    band from min > max)."""
    nan = torch.isnan(k)
    return k.masked_fill(nan, math.inf).amin(), k.masked_fill(nan, -math.inf).amax()
