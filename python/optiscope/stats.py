"""Per-step statistics of one optimizer: gradient, weight and update norms per layer and effective
learning rates, computed on the parameters' device with one host transfer per device per step.

Each tensor's norm is reduced in its own precision (torch's blocked summation, a few ulps; see _norm)
and the norms are combined per layer and globally in float64 on the host, so the numbers compare with
the engine's Float64 arithmetic: ‖(a, b)‖ = √(‖a‖² + ‖b‖²).
"""
import math
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from . import band, effective_lr
from .flat_stats import FlatPath, FlatResult
from .hessian import reason_of
from .naming import Layout

F64 = torch.float64
# Medians of larger layers are taken on an evenly strided sample of this many elements: exact min
# and max, and a p50 whose rank error is below 1/MEDIAN_SAMPLE, at a bounded cost per step.
MEDIAN_SAMPLE = 1 << 10


def _norm(t: torch.Tensor) -> torch.Tensor:
    """L2 norm in the tensor's own precision: torch's CPU and GPU reductions sum in blocks (cascade /
    tree summation), accurate to a few ulps of the result, and casting a large tensor to float64 first
    would triple the cost. Norms are squared and summed across tensors in float64 on the host."""
    if t.is_sparse:
        t = t.coalesce()._values()
    return torch.linalg.vector_norm(t.detach())


def tensor_norms(ts: List[torch.Tensor]) -> List[torch.Tensor]:
    """Norms of many tensors with one call where torch can (dense tensors)."""
    if not ts:
        return []
    if any([t.is_sparse for t in ts]):  # a list: one call, not one generator step per tensor
        return [_norm(t) for t in ts]
    return list(torch._foreach_norm(ts))


def gather(scalars: Sequence[torch.Tensor], cpu: bool = False) -> List[float]:
    """Host values of 0-d tensors, with one transfer per device (the step's only synchronisation).
    Values of every floating dtype are exact in the returned Python floats (float64). `cpu`: all of
    them are CPU tensors, where reading each one (~0.15µs) beats stacking them (~1µs per tensor)."""
    if not scalars:
        return []
    if cpu:
        return [float(s.item()) for s in scalars]
    try:
        # One device (the usual case): one stack (promoting to the widest dtype, which is exact for
        # floating values) and one transfer.
        return torch.stack(list(scalars)).tolist()  # type: ignore[no-any-return]
    except RuntimeError:  # scalars on several devices
        pass
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


def _one_host_map(sources: List[effective_lr.EffSource]) -> bool:
    """One monotone host function for the whole layer (the same rule, group constants and step)."""
    first = sources[0]
    return first.host is not None and all(s.signature is not None and s.signature == first.signature for s in sources)


def _host_band(sources: List[effective_lr.EffSource], masks: List[Optional[torch.Tensor]]
               ) -> Tuple[Callable[[List[float]], Tuple[float, float, float]], int]:
    """A CPU layer's effective-lr band from the order statistics of its state tensors (band.py), mapped
    on the host; and its zero-gradient count. The same numbers as _eff_device's one-map path."""
    keys = [s.key for s in sources]
    zeros = [m if m is not None and m.shape == k.shape else None for k, m in zip(keys, masks)]
    lo, mid_lo, mid_hi, hi, zero = band.order_stats(keys, zeros, MEDIAN_SAMPLE)
    first = sources[0]
    host = first.host
    assert host is not None
    f_lo, f_hi, mid = host(lo), host(hi), (host(mid_lo) + host(mid_hi)) / 2
    band_ = (f_hi, mid, f_lo) if first.decreasing else (f_lo, mid, f_hi)
    return (lambda _values: band_), zero


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
    # The per-layer numbers of `layers`, as lists (what the detectors read).
    layer_grad: List[float] = field(default_factory=list)
    layer_weight: List[float] = field(default_factory=list)
    layer_update: List[float] = field(default_factory=list)
    layer_p50: List[float] = field(default_factory=list)


# How often (in monitored steps) the parameter copies are checked against the parameters' shapes,
# dtypes and devices (a mismatch in shape or device is also caught when it happens).
RECHECK_BUFFERS = 64
# From this many parameter tensors on, the copy uses two `_foreach` calls instead of one `copy_` per
# tensor (one pass less over the memory, more calls).
FOREACH_COPY_FROM = 24


class StatsCollector:
    """`before()` runs just before the optimizer's update (the gradient it is about to use, a copy of
    the parameters); `after()` just after it (weights, update, effective lr) and returns the stats.

    Cost per monitored step: one norm call over the gradients (`_foreach_norm`), one copy of the
    parameters into persistent buffers (two `_foreach` calls), one in-place subtraction and one norm
    call over weights and updates together, per layer one min/max pass over the state tensor behind the
    effective lr and a median of at most MEDIAN_SAMPLE of its values; everything stays on the device
    until one host transfer at the end. The effective lr's monotone map is applied on the host to the
    four order statistics of each layer (bit-identical to applying it on the device, see EffSource.host).
    """

    def __init__(self, optimizer: torch.optim.Optimizer, layout: Layout, flat: bool = True) -> None:
        self.optimizer = optimizer
        self.layout = layout
        self.flat: List[torch.Tensor] = [p for layer in layout.layers for p in layer.params]
        self.names: List[str] = [n for layer in layout.layers for n in layer.param_names]
        self.group_of: Dict[int, dict] = {}
        for group in optimizer.param_groups:
            for p in group["params"]:
                self.group_of[id(p)] = group
        self._grad: List[Optional[torch.Tensor]] = []
        self._zero: List[Optional[torch.Tensor]] = []
        self._before: List[torch.Tensor] = []
        self._pre_eff: Dict[int, effective_lr.EffSource] = {}
        self._buffers: List[torch.Tensor] = []
        self._checks = 0
        self._adadelta = effective_lr._kind(optimizer) == "Adadelta"
        self._constant_eff = effective_lr._kind(optimizer) not in effective_lr.ADAPTIVE
        # Per layer: (name, first flat index, end flat index, params, groups).
        self._layers: List[Tuple[str, int, int, List[torch.Tensor]]] = []
        pos = 0
        for layer in layout.layers:
            n = len(layer.params)
            self._layers.append((layer.name, pos, pos + n, list(layer.params)))
            pos += n
        self.parameters = sum(p.numel() for p in self.flat)
        self.cpu = all(p.device.type == "cpu" for p in self.flat)
        # Layers whose effective-lr summary failed (an empty layer, a state tensor torch cannot reduce): off
        # for them from then on, the rest measured (degrade.py); each failure waits in `failures` to be said.
        self.eff_off: set = set()
        self.failures: List[Tuple[str, str, str, int]] = []  # (layer, quantity, reason, parameters)
        # A CPU model's statistics over flat buffers (flat_stats.py), the per-tensor code below for
        # everything it does not cover. `flat=False`: the per-tensor code always (the tests' reference).
        self.flat_path = (FlatPath.make(self.flat, [(a, b) for _, a, b, _ in self._layers], optimizer, MEDIAN_SAMPLE)
                          if flat and self.cpu else None)

    def _grad_norms(self, own: bool = True) -> None:
        """The gradients' norms and zero masks, or (flat path) a flat copy of the gradients (`own`) or a
        view of them (read where they no longer change)."""
        fp = self.flat_path
        if fp is not None and not self._before and fp.take_grads(own):
            self._grad, self._zero = [], []
            return
        self._grads_of([p.grad for p in self.flat])

    def _grads_of(self, grads: List[Optional[torch.Tensor]]) -> None:
        # Where each gradient is exactly zero, read with the norms (a helper reads them during the update).
        self._zero = [effective_lr.zero_gradient(g) for g in grads]
        if all(g is not None for g in grads):
            self._grad = tensor_norms(grads)  # type: ignore[arg-type]
            return
        present = [g for g in grads if g is not None]
        norms = iter(tensor_norms(present))  # type: ignore[arg-type]
        self._grad = [next(norms) if g is not None else None for g in grads]

    def _buffers_fit(self) -> bool:
        return len(self._buffers) == len(self.flat) and all(
            b.shape == p.shape and b.dtype == p.dtype and b.device == p.device for b, p in zip(self._buffers, self.flat))

    def _copy_params(self) -> None:
        """The parameters before the update, into persistent buffers (no allocation per step)."""
        fp = self.flat_path
        if fp is not None and fp.take_before(self.flat):
            self._before = []
            return
        self._checks -= 1
        if self._checks <= 0 or not self._buffers:
            self._checks = RECHECK_BUFFERS
            if not self._buffers_fit():
                self._buffers = [torch.empty_like(p, memory_format=torch.preserve_format) for p in self.flat]
        try:
            if len(self.flat) <= FOREACH_COPY_FROM:
                for b, p in zip(self._buffers, self.flat):
                    b.copy_(p)
            else:
                # zero + add is an exact copy (up to the sign of zeros, which no norm sees) in two calls.
                torch._foreach_zero_(self._buffers)
                torch._foreach_add_(self._buffers, self.flat)
        except RuntimeError:  # a parameter changed shape or device: new buffers
            self._buffers = [torch.empty_like(p, memory_format=torch.preserve_format) for p in self.flat]
            for b, p in zip(self._buffers, self.flat):
                b.copy_(p.detach())
        self._before = self._buffers

    def grad_norms(self) -> None:
        """The gradients' norms now (the helper takes them while the optimizer updates)."""
        with torch.no_grad():
            self._grad_norms()

    def clear_grad_norms(self) -> None:
        self._grad = []
        self._zero = []
        if self.flat_path is not None:
            self.flat_path.g = None

    def snapshot(self) -> None:
        """The parameters as they are now, as the `before` of the next `after()` (the helper process
        takes it right after reporting a step, while the training process runs its next forward)."""
        with torch.no_grad():
            if self.flat:
                self._copy_params()

    def keep_as_before(self, weights: List[torch.Tensor]) -> List[torch.Tensor]:
        """`weights`, a copy of the parameters as they are now, becomes the `before` of the next after()
        (what snapshot() would copy again); returns the buffers it replaces, free for the next copy."""
        fp = self.flat_path
        if fp is not None:
            fp.keep_as_before(weights)  # the flat copy after() read them into, or a copy now
            if fp.b is not None:
                self._before = []
                return weights
        old, self._buffers, self._before = self._buffers, weights, weights
        return old

    def before(self, with_closure: bool = False) -> None:
        with torch.no_grad():
            if not with_closure:  # with a closure the gradient is computed inside step(): read it after
                self._grad_norms()
            if self.flat:
                self._copy_params()
            self._pre_eff = {}
            if self._adadelta:
                for p in self.flat:
                    e = effective_lr.pre_step(self.optimizer, p, self.group_of.get(id(p), {}))
                    if e is not None:
                        self._pre_eff[id(p)] = effective_lr.EffSource(e, lambda k: k, decreasing=False)

    def _eff_device(self, li: int, sources: List[effective_lr.EffSource], scalars: List[torch.Tensor]) -> Callable[[List[float]], Tuple[float, float, float]]:
        """Queues the device work for one layer's effective-lr summary on `scalars`; returns the function
        that turns the gathered host values into (min, p50, max)."""
        total = sum(s.key.numel() for s in sources)
        stride = 1 if total <= MEDIAN_SAMPLE else math.ceil(total / MEDIAN_SAMPLE)
        keys = [s.key.detach().reshape(-1) for s in sources]
        samples = [k[::stride] for k in keys] if stride > 1 else keys
        first = sources[0]
        at = len(scalars)
        host = first.host
        if host is not None and all(s.signature is not None and s.signature == first.signature for s in sources):
            # One monotone function for the whole layer: order statistics of the state tensor map to
            # those of the effective lr, so only four values go through the function, on the host.
            sample = torch.cat(samples) if len(samples) > 1 else samples[0]
            if stride == 1:  # the sample is the whole layer: its min and max are the layer's
                keys = [sample]
            # Keys of parameters without a gradient are NaN (effective_lr.with_gradient): every
            # reduction skips them, and the count of the rest is not known on the host, so the two
            # middle values are both selected (lower median of the sample and of its negation).
            for k in keys:
                scalars.extend(effective_lr.nan_minmax(k))
            scalars.append(sample.nanmedian())
            scalars.append(sample.neg().nanmedian())
            nk = len(keys)
            decreasing = first.decreasing

            def finish(v: List[float]) -> Tuple[float, float, float]:
                ends = v[at : at + 2 * nk]
                lo, hi = v[at + 2 * nk], -v[at + 2 * nk + 1]
                f_min, f_max = host(min(ends[0::2])), host(max(ends[1::2]))  # type: ignore[misc]
                mid = (host(lo) + host(hi)) / 2  # type: ignore[misc]
                return (f_max, mid, f_min) if decreasing else (f_min, mid, f_max)

            return finish
        if all(s.signature is not None and s.signature == first.signature for s in sources):
            ends = torch.stack([torch.stack(effective_lr.nan_minmax(k)) for k in keys])
            sample = torch.cat(samples) if len(samples) > 1 else samples[0]
            lo = sample.nanmedian()
            hi = -(-sample).nanmedian()
            m = first.fn(torch.stack([ends[:, 0].min(), ends[:, 1].max(), lo, hi]))
            scalars.extend((m[1] if first.decreasing else m[0], (m[2] + m[3]) / 2, m[0] if first.decreasing else m[1]))
        else:
            lows: List[torch.Tensor] = []
            highs: List[torch.Tensor] = []
            mapped: List[torch.Tensor] = []
            for s, k, smp in zip(sources, keys, samples):
                e = s.fn(torch.cat([torch.stack(effective_lr.nan_minmax(k)), smp]))
                lows.append(e[1] if s.decreasing else e[0])
                highs.append(e[0] if s.decreasing else e[1])
                mapped.append(e[2:])
            m = torch.cat(mapped)
            scalars.extend((effective_lr.nan_minmax(torch.stack(lows))[0], (m.nanmedian() - m.neg().nanmedian()) / 2,
                            effective_lr.nan_minmax(torch.stack(highs))[1]))
        return lambda v: (v[at], v[at + 1], v[at + 2])

    def after(
        self,
        loss: Optional[torch.Tensor],
        module_flags: Sequence[Tuple[str, torch.Tensor]] = (),
        activity: Sequence[Tuple] = (),
        host_activity: Sequence[Tuple[str, str, float, int]] = (),
        weights: Optional[List[torch.Tensor]] = None,
    ) -> StepStats:
        """host_activity: activity counts already on the host (layer, kind, count, units), as the
        training process sends them to the helper. weights: a copy of the parameters to read instead of
        the live ones (the helper's, taken before it lets the training process go on: keep_as_before)."""
        flat = self.flat if weights is None else weights
        fp = self.flat_path
        if fp is not None and not self._before:
            with torch.no_grad():
                if fp.g is None and not self._grad:
                    fp.take_grads(own=False)  # read now, where they no longer change
                r = fp.after(flat, self.eff_off) if fp.g is not None else None
                if r is not None:
                    return self._after_flat(r, loss, module_flags, activity, host_activity)
                grads, before = fp.legacy()  # the per-tensor path takes this step, from the flat copies
                fp.clear()
                if grads is not None:
                    self._grads_of(grads)
                if before is not None:
                    self._before = before
        n = len(flat)
        with torch.no_grad():
            if not self._grad:
                self._grad_norms()
            grads = self._grad
            scalars: List[torch.Tensor] = []
            if loss is not None:
                scalars.append(loss.detach().reshape(()))
            at_w = len(scalars)
            before = self._before
            if before:
                torch._foreach_sub_(before, flat)
                if any(p.is_sparse for p in flat):
                    scalars.extend(tensor_norms(flat))
                    scalars.extend(tensor_norms(before))
                else:
                    scalars.extend(torch._foreach_norm(flat + before))  # weights, then updates: one call
            else:
                scalars.extend(tensor_norms(flat))
            at_g = len(scalars)
            all_grads = all(g is not None for g in grads)
            scalars.extend(grads if all_grads else [g for g in grads if g is not None])  # type: ignore[misc]
            eff: List[Optional[Callable[[List[float]], Tuple[float, float, float]]]] = []
            const_lr: Dict[int, List[Tuple[float, int]]] = {}
            # Per layer: where its zero-gradient counts sit in `scalars`, how many, and its parameters
            # with a gradient (the band is over those that received a nonzero one: effective_lr.with_gradient).
            zero_at: List[Tuple[int, int, int]] = []
            optimizer, group_of, pre_eff = self.optimizer, self.group_of, self._pre_eff
            zero_masks = self._zero
            host_zeros: List[int] = []  # per layer: zero-gradient elements counted on the host (band.py)
            eff_off = self.eff_off
            for li, (name, a, b, params) in enumerate(self._layers):
                sources: List[effective_lr.EffSource] = []
                masks: List[Optional[torch.Tensor]] = []
                zeros: List[torch.Tensor] = []
                numel = 0
                if li in eff_off:
                    eff.append(None)
                    host_zeros.append(0)
                    zero_at.append((len(scalars), 0, 0))
                    continue
                mark = len(scalars)
                host_zero = 0
                try:
                    for k, p in enumerate(params):
                        if p.grad is None:  # not updated this step
                            continue
                        group = group_of.get(id(p), {})
                        src = None if self._constant_eff else (pre_eff.get(id(p)) or effective_lr.post_step(optimizer, p, group))
                        numel += p.numel()
                        mask = zero_masks[a + k] if a + k < len(zero_masks) else None
                        if src is not None:
                            sources.append(src)
                            masks.append(mask)
                            continue
                        if mask is not None:
                            zeros.append(mask.sum())
                        if "lr" in group:
                            const_lr.setdefault(li, []).append((float(group["lr"]), p.numel()))
                    if sources and self.cpu and _one_host_map(sources) and band.fits([s.key for s in sources]):
                        summary, host_zero = _host_band(sources, masks)
                        eff.append(summary)
                    elif sources:
                        masked: List[effective_lr.EffSource] = []
                        for src, mask in zip(sources, masks):
                            src, z = effective_lr.with_gradient(src, mask)
                            masked.append(src)
                            if z is not None:
                                zeros.append(z)
                        eff.append(self._eff_device(li, masked, scalars))
                    else:
                        eff.append(None)
                except Exception as e:  # noqa: BLE001 - this layer's summary only: off for it, the rest measured
                    del scalars[mark:]
                    const_lr.pop(li, None)
                    eff_off.add(li)
                    size = sum(p.numel() for p in params)
                    why = "the layer has no parameters (0 elements)" if size == 0 else reason_of(e)
                    self.failures.append((name, "effective learning rate", why, size))
                    eff.append(None)
                    host_zeros.append(0)
                    zero_at.append((len(scalars), 0, 0))
                    continue
                host_zeros.append(host_zero)
                zero_at.append((len(scalars), len(zeros), numel))
                scalars.extend(zeros)
            at_m = len(scalars)
            scalars.extend(flag for _, flag in module_flags)
            at_a = len(scalars)
            scalars.extend(a[2] for a in activity)
            values = gather(scalars, self.cpu)

        wnorms = values[at_w : at_w + n]
        unorms = values[at_w + n : at_w + 2 * n] if before else [0.0] * n
        if all_grads:
            gnorms = values[at_g : at_g + n]
        else:
            it = iter(values[at_g:])
            gnorms = [next(it) if g is not None else 0.0 for g in grads]
        bands: List[Tuple[float, float, float]] = []
        zero_counts: List[int] = []
        for li in range(len(self._layers)):
            summary = eff[li]
            z_at, z_n, numel = zero_at[li]
            zero = int(sum(values[z_at : z_at + z_n])) + host_zeros[li]
            if li in self.eff_off or (numel and zero >= numel):  # switched off, or no parameter received a gradient: no band (as the engine)
                e_min = e_p50 = e_max = math.nan
            elif summary is not None:
                e_min, e_p50, e_max = summary(values)
                if not e_min <= e_max:  # every key NaN (non-finite state): no band
                    e_min = e_p50 = e_max = math.nan
            elif li in const_lr:
                e_min, e_p50, e_max = _constant_band(const_lr[li])
            else:
                e_min = e_p50 = e_max = 0.0
            bands.append((e_min, e_p50, e_max))
            zero_counts.append(zero)
        return self._assemble(values[0] if loss is not None else math.nan, gnorms, wnorms, unorms,
                              [x * x for x in gnorms], [x * x for x in wnorms], [x * x for x in unorms], bands, zero_counts,
                              _activity(values[at_a:], activity, host_activity), values[at_m:at_a], module_flags)

    def _after_flat(self, r: FlatResult, loss: Optional[torch.Tensor], module_flags: Sequence[Tuple[str, torch.Tensor]],
                    activity: Sequence[Tuple], host_activity: Sequence[Tuple[str, str, float, int]]) -> StepStats:
        """The step's stats from the flat path's numbers (the same rules as the per-tensor path's tail)."""
        scalars: List[torch.Tensor] = [loss.detach().reshape(())] if loss is not None else []
        scalars.extend(flag for _, flag in module_flags)
        scalars.extend(a[2] for a in activity)
        values = gather(scalars, True)
        at_m = 1 if loss is not None else 0
        at_a = at_m + len(module_flags)
        bands: List[Tuple[float, float, float]] = []
        zero_counts: List[int] = []
        const = self.flat_path.constant  # type: ignore[union-attr]
        group_of = self.group_of
        for li in range(len(self._layers)):
            zero, numel, band_ = r.zeros[li], r.numels[li], r.bands[li]
            if li in self.eff_off:
                e: Tuple[float, float, float] = (math.nan, math.nan, math.nan)
                zero = 0
            elif numel and zero >= numel:
                e = (math.nan, math.nan, math.nan)
            elif band_ is not None:
                e = band_ if band_[0] <= band_[2] else (math.nan, math.nan, math.nan)
            elif const and r.present[li]:
                flat = self.flat
                pairs = [(float(g["lr"]), flat[i].numel()) for i in r.present[li] for g in (group_of.get(id(flat[i]), {}),) if "lr" in g]
                e = _constant_band(pairs) if pairs else (0.0, 0.0, 0.0)
            else:
                e = (0.0, 0.0, 0.0)
            bands.append(e)
            zero_counts.append(zero)
        sq = math.sqrt
        return self._assemble(values[0] if loss is not None else math.nan, [sq(x) for x in r.gsq], [sq(x) for x in r.wsq],
                              [sq(x) for x in r.usq], r.gsq, r.wsq, r.usq, bands, zero_counts,
                              _activity(values[at_a:], activity, host_activity), values[at_m:at_a], module_flags)

    def _assemble(self, loss: float, gnorms: List[float], wnorms: List[float], unorms: List[float], gsq: List[float],
                  wsq: List[float], usq: List[float], bands: List[Tuple[float, float, float]], zeros: List[int],
                  activity: Tuple[Dict[str, float], Dict[str, float]], flags: List[float],
                  module_flags: Sequence[Tuple[str, torch.Tensor]]) -> StepStats:
        """StepStats from per-parameter norms (and their squares), per-layer bands and zero counts."""
        dead, sat = activity
        layers: List[Dict[str, object]] = []
        lg: List[float] = []
        lw: List[float] = []
        lu: List[float] = []
        lp: List[float] = []
        for li, (name, a, b, _) in enumerate(self._layers):
            e_min, e_p50, e_max = bands[li]
            g = math.sqrt(sum(gsq[a:b]))
            w = math.sqrt(sum(wsq[a:b]))
            u = math.sqrt(sum(usq[a:b]))
            stat: Dict[str, object] = {"name": name, "gradNorm": g, "weightNorm": w, "updateNorm": u,
                                       "effectiveLr": {"min": e_min, "p50": e_p50, "max": e_max}}
            if zeros[li]:
                stat["zeroGrad"] = zeros[li]
            if name in dead:
                stat["deadFraction"] = dead[name]
            if name in sat:
                stat["saturatedFraction"] = sat[name]
            layers.append(stat)
            lg.append(g)
            lw.append(w)
            lu.append(u)
            lp.append(e_p50)
        first_bad = None
        if flags and not math.isfinite(sum(flags)):
            for k, (mname, _) in enumerate(module_flags):
                if not math.isfinite(flags[k]):
                    first_bad = mname
                    break
        self._before = []
        self._grad = []
        self._zero = []
        self._pre_eff = {}
        if self.flat_path is not None:
            self.flat_path.clear()
        groups = self.optimizer.param_groups
        return StepStats(
            loss=loss,
            lr=effective_lr._f(groups[0]["lr"]) if groups else 0.0,
            grad_norm=math.sqrt(sum(gsq)),
            layers=layers,
            param_names=self.names,
            param_grad_norms=gnorms,
            param_weight_norms=wnorms,
            first_nonfinite_module=first_bad,
            dead=dead,
            saturated=sat,
            layer_grad=lg,
            layer_weight=lw,
            layer_update=lu,
            layer_p50=lp,
        )


def _constant_band(pairs: List[Tuple[float, int]]) -> Tuple[float, float, float]:
    """A layer of constant-lr parameters: (min, weighted median, max) of their groups' lrs."""
    return min(v for v, _ in pairs), _weighted_median(pairs), max(v for v, _ in pairs)


def _activity(values: List[float], activity: Sequence[Tuple], host_activity: Sequence[Tuple[str, str, float, int]]
              ) -> Tuple[Dict[str, float], Dict[str, float]]:
    """Dead and saturated fractions per layer: from the device counts gathered (`values`, one per entry of
    `activity`) and from the counts already on the host."""
    dead: Dict[str, float] = {}
    sat: Dict[str, float] = {}
    for k, a in enumerate(activity):
        v = values[k]
        if len(a) > 3:  # (layer, kind, count, units) from ActivityProbe: the fraction on the host
            v = (1.0 - v / a[3]) if a[1] == "dead" else v / a[3]
        (dead if a[1] == "dead" else sat)[a[0]] = v
    for layer_name, kind, count, units in host_activity:
        (dead if kind == "dead" else sat)[layer_name] = (1.0 - count / units) if kind == "dead" else count / units
    return dead, sat
