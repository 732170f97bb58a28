"""Per-step statistics of one optimizer: gradient, weight and update norms per layer and effective
learning rates, computed on the parameters' device with one host transfer per device per step.

Reductions run in float64 (`vector_norm(..., dtype=float64)`) so the numbers compare with the
engine's Float64 arithmetic. Per-layer norms combine the per-parameter norms: ‖(a, b)‖ = √(‖a‖² + ‖b‖²).
"""
import math
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from . import effective_lr
from .naming import Layout

F64 = torch.float64
# Medians of larger layers are taken on an evenly strided sample of this many elements: exact min
# and max, and a p50 whose rank error is below 1/MEDIAN_SAMPLE, at a bounded cost per step.
MEDIAN_SAMPLE = 1 << 12


def _norm(t: torch.Tensor) -> torch.Tensor:
    """L2 norm in the tensor's own precision: torch's CPU and GPU reductions sum in blocks (cascade /
    tree summation), accurate to a few ulps of the result, and casting a large tensor to float64 first
    would triple the cost. Norms are squared and summed across tensors in float64 on the host."""
    if t.is_sparse:
        t = t.coalesce()._values()
    return torch.linalg.vector_norm(t.detach())


def _norms(ts: List[torch.Tensor]) -> List[torch.Tensor]:
    """Norms of many tensors with one call where torch can (dense tensors)."""
    if not ts:
        return []
    if any(t.is_sparse for t in ts):
        return [_norm(t) for t in ts]
    return list(torch._foreach_norm(ts))


def gather(scalars: Sequence[torch.Tensor]) -> List[float]:
    """Host values of 0-d tensors, with one transfer per device (the step's only synchronisation)."""
    out: List[float] = [0.0] * len(scalars)
    groups: Dict[Tuple[torch.device, torch.dtype], List[int]] = {}
    for i, s in enumerate(scalars):
        groups.setdefault((s.device, s.dtype), []).append(i)
    by_device: Dict[torch.device, List[Tuple[List[int], torch.Tensor]]] = {}
    for (device, _), idx in groups.items():
        by_device.setdefault(device, []).append((idx, torch.stack([scalars[i] for i in idx]).to(F64)))
    for parts in by_device.values():
        vals = torch.cat([t for _, t in parts]).cpu().tolist()
        pos = 0
        for idx, _ in parts:
            for i in idx:
                out[i] = float(vals[pos])
                pos += 1
    return out


def _weighted_median(pairs: List[Tuple[float, int]]) -> float:
    """Median of values repeated n times, averaging the two middle ones for an even count (as the
    engine's medianInPlace)."""
    pairs = sorted(pairs)
    total = sum(n for _, n in pairs)
    if total == 0:
        return math.nan

    def at(k: int) -> float:
        seen = 0
        for v, n in pairs:
            seen += n
            if seen > k:
                return v
        return pairs[-1][0]

    k = (total - 1) // 2
    return at(k) if total % 2 else (at(k) + at(k + 1)) / 2


def _median(x: torch.Tensor) -> torch.Tensor:
    """Median as the engine computes it: the middle value, or the mean of the two middle values."""
    lower = x.median()
    if x.numel() % 2:
        return lower
    return (lower - (-x).median()) / 2


@dataclass
class StepStats:
    loss: float
    lr: float
    grad_norm: float
    layers: List[Dict[str, object]]
    param_names: List[str]
    param_grad_norms: List[float]
    param_weight_norms: List[float]
    first_nonfinite_module: Optional[str] = None
    dead: Dict[str, float] = field(default_factory=dict)
    saturated: Dict[str, float] = field(default_factory=dict)


class StatsCollector:
    """`before()` runs just before the optimizer's update (the gradient it is about to use, a copy of
    the parameters); `after()` just after it (weights, update, effective lr) and returns the stats.

    Cost per monitored step: one norm pass over gradients, weights and updates, one copy of the
    parameters, one min/max pass over the state tensor behind the effective lr, and a median over at
    most MEDIAN_SAMPLE values per layer; all on the device, one host transfer at the end.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, layout: Layout) -> None:
        self.optimizer = optimizer
        self.layout = layout
        self.flat: List[torch.Tensor] = [p for layer in layout.layers for p in layer.params]
        self.names: List[str] = [n for layer in layout.layers for n in layer.param_names]
        self.group_of: Dict[int, dict] = {}
        for group in optimizer.param_groups:
            for p in group["params"]:
                self.group_of[id(p)] = group
        self._grad: List[Optional[torch.Tensor]] = []
        self._before: List[torch.Tensor] = []
        self._pre_eff: Dict[int, effective_lr.EffSource] = {}
        self._buffers: List[torch.Tensor] = []
        self._adadelta = effective_lr._kind(optimizer) == "Adadelta"

    def _grad_norms(self) -> None:
        present = [p.grad for p in self.flat if p.grad is not None]
        norms = iter(_norms(present))
        self._grad = [next(norms) if p.grad is not None else None for p in self.flat]

    def before(self, with_closure: bool = False) -> None:
        with torch.no_grad():
            if not with_closure:  # with a closure the gradient is computed inside step(): read it after
                self._grad_norms()
            # Persistent buffers: copying into them costs no allocation per step.
            if len(self._buffers) != len(self.flat) or any(b.shape != p.shape or b.dtype != p.dtype or b.device != p.device
                                                           for b, p in zip(self._buffers, self.flat)):
                self._buffers = [torch.empty_like(p, memory_format=torch.preserve_format) for p in self.flat]
            for b, p in zip(self._buffers, self.flat):
                b.copy_(p.detach())
            self._before = self._buffers
            self._pre_eff = {}
            if self._adadelta:
                for p in self.flat:
                    e = effective_lr.pre_step(self.optimizer, p, self.group_of.get(id(p), {}))
                    if e is not None:
                        self._pre_eff[id(p)] = effective_lr.EffSource(e, lambda k: k, decreasing=False)

    def _eff_summary(self, sources: List[effective_lr.EffSource], put: Callable[[str, torch.Tensor], None], li: int) -> None:
        total = sum(s.key.numel() for s in sources)
        stride = 1 if total <= MEDIAN_SAMPLE else math.ceil(total / MEDIAN_SAMPLE)
        keys = [s.key.detach().reshape(-1) for s in sources]
        samples = [k[::stride] if stride > 1 else k for k in keys]
        first = sources[0]
        if all(s.signature is not None and s.signature == first.signature for s in sources):
            # One monotone function for the whole layer: order statistics of the state tensor map to
            # those of the effective lr, so only a handful of values go through the function.
            ends = torch.stack([torch.stack(torch.aminmax(k)) for k in keys])
            sample = torch.cat(samples) if len(samples) > 1 else samples[0]
            lo = sample.median()
            hi = lo if sample.numel() % 2 else -(-sample).median()
            m = first.fn(torch.stack([ends[:, 0].min(), ends[:, 1].max(), lo, hi]))
            put(f"emin{li}", m[1] if first.decreasing else m[0])
            put(f"ep50{li}", (m[2] + m[3]) / 2)
            put(f"emax{li}", m[0] if first.decreasing else m[1])
            return
        lows: List[torch.Tensor] = []
        highs: List[torch.Tensor] = []
        mapped: List[torch.Tensor] = []
        for s, k, smp in zip(sources, keys, samples):
            e = s.fn(torch.cat([torch.stack(torch.aminmax(k)), smp]))
            lows.append(e[1] if s.decreasing else e[0])
            highs.append(e[0] if s.decreasing else e[1])
            mapped.append(e[2:])
        put(f"emin{li}", torch.stack(lows).min())
        put(f"ep50{li}", _median(torch.cat(mapped)))
        put(f"emax{li}", torch.stack(highs).max())

    def after(
        self,
        loss: Optional[torch.Tensor],
        module_flags: Sequence[Tuple[str, torch.Tensor]] = (),
        activity: Sequence[Tuple[str, str, torch.Tensor]] = (),
    ) -> StepStats:
        with torch.no_grad():
            if not self._grad:
                self._grad_norms()
            scalars: List[torch.Tensor] = []
            index: Dict[str, int] = {}

            def put(key: str, t: torch.Tensor) -> None:
                index[key] = len(scalars)
                scalars.append(t)

            if loss is not None:
                put("loss", loss.detach().reshape(()))
            detached = [p.detach() for p in self.flat]
            for i, w in enumerate(_norms(detached)):
                put(f"w{i}", w)
            for i, g in enumerate(self._grad):
                if g is not None:
                    put(f"g{i}", g)
            if self._before:
                for b, p in zip(self._before, detached):
                    b.sub_(p)
                for i, u in enumerate(_norms(self._before)):
                    put(f"u{i}", u)
            const_lr: Dict[int, List[Tuple[float, int]]] = {}
            for li, layer in enumerate(self.layout.layers):
                sources: List[effective_lr.EffSource] = []
                for p in layer.params:
                    if p.grad is None:  # not updated this step
                        continue
                    group = self.group_of.get(id(p), {})
                    src = self._pre_eff.get(id(p)) or effective_lr.post_step(self.optimizer, p, group)
                    if src is not None:
                        sources.append(src)
                    elif "lr" in group:
                        const_lr.setdefault(li, []).append((float(group["lr"]), p.numel()))
                if sources:
                    self._eff_summary(sources, put, li)
            for k, (_, flag) in enumerate(module_flags):
                put(f"m{k}", flag)
            for k, (_, _, frac) in enumerate(activity):
                put(f"a{k}", frac)
            values = gather(scalars)

        def val(key: str, default: float = 0.0) -> float:
            i = index.get(key)
            return values[i] if i is not None else default

        gnorms = [val(f"g{i}") for i in range(len(self.flat))]
        wnorms = [val(f"w{i}") for i in range(len(self.flat))]
        unorms = [val(f"u{i}", math.nan) if f"u{i}" in index else 0.0 for i in range(len(self.flat))]
        layers: List[Dict[str, object]] = []
        dead: Dict[str, float] = {}
        sat: Dict[str, float] = {}
        for k, (layer_name, kind, _) in enumerate(activity):
            (dead if kind == "dead" else sat)[layer_name] = val(f"a{k}")
        pos = 0
        for li, layer in enumerate(self.layout.layers):
            n = len(layer.params)
            sl = slice(pos, pos + n)
            pos += n
            if f"emin{li}" in index:
                eff = {"min": val(f"emin{li}"), "p50": val(f"ep50{li}"), "max": val(f"emax{li}")}
            elif li in const_lr:
                pairs = const_lr[li]
                eff = {"min": min(v for v, _ in pairs), "p50": _weighted_median(pairs), "max": max(v for v, _ in pairs)}
            else:
                eff = {"min": 0.0, "p50": 0.0, "max": 0.0}
            stat: Dict[str, object] = {
                "name": layer.name,
                "gradNorm": math.sqrt(sum(x * x for x in gnorms[sl])),
                "weightNorm": math.sqrt(sum(x * x for x in wnorms[sl])),
                "updateNorm": math.sqrt(sum(x * x for x in unorms[sl])),
                "effectiveLr": eff,
            }
            if layer.name in dead:
                stat["deadFraction"] = dead[layer.name]
            if layer.name in sat:
                stat["saturatedFraction"] = sat[layer.name]
            layers.append(stat)
        first_bad = None
        for k, (mname, _) in enumerate(module_flags):
            if not math.isfinite(val(f"m{k}", 0.0)):
                first_bad = mname
                break
        self._before = []
        self._grad = []
        self._pre_eff = {}
        lrs = effective_lr.group_lrs(self.optimizer)
        return StepStats(
            loss=val("loss", math.nan),
            lr=lrs[0] if lrs else 0.0,
            grad_norm=math.sqrt(sum(x * x for x in gnorms)),
            layers=layers,
            param_names=self.names,
            param_grad_norms=gnorms,
            param_weight_norms=wnorms,
            first_nonfinite_module=first_bad,
            dead=dead,
            saturated=sat,
        )
