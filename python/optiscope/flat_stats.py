"""A CPU model's step statistics over flat buffers: a few numpy calls per step, whatever the number of
parameter tensors.

Why: a small model's step (W2 of the bench: 26k parameters, ≈ 0.5 ms) is shorter than the torch calls
of its statistics done per tensor (~40 calls of 2-10 µs of dispatch each: norms, zero masks, NaN
masks, min/max, medians). Here each quantity is one call over the whole model:
- the gradients, the parameters before and after the update and the optimizer state behind the
  effective lr are read as one flat numpy array each (`Flattener`: a view when the tensors lie end to end
  in one storage, as the helper process's gradient copy does; else one `np.concatenate` into a buffer
  kept from step to step, ~5 µs for 26k values);
- per-tensor sums of squares with one `np.add.reduceat` (numpy's pairwise summation in the tensors'
  own precision, like torch's blocked norm: both within a few ulps of the exact sum; overflow and
  underflow as torch's float32 norm);
- zero gradients with one comparison and one count (per layer only when there are any);
- each layer's effective-lr band: min and max with one `np.fmin`/`np.fmax.reduceat` (NaN skipped), the
  two middle values with one `np.partition` of the layer's strided sample (the samples of every layer
  taken with one `np.take`). The values are elements of the state tensor mapped through the same host
  function as before (effective_lr.EffSource.host), so the band is bit-identical to band.py's and to the
  device path's (python/tests/test_flat_stats.py).

Anything this does not cover (GPU, sparse or complex tensors, mixed dtypes, channels-last tensors,
Adadelta, centered RMSprop, a layer whose tensors follow different effective-lr rules, an empty layer)
is left to stats.py's per-tensor path, step by step (`FlatPath.after` returns None).
"""
import math
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from . import effective_lr

_NUMPY = {torch.float32: np.float32, torch.float64: np.float64}
# Buffers are kept between steps (about seven values per parameter: gradients, weights before and after
# the update, their squares, the state keys): above this many parameters the per-tensor path, whose
# dispatch cost no longer matters next to the arithmetic, is used instead.
FLAT_MAX = 1_000_000
# ... and only when the tensors are small on average: the flat path saves calls (~2-10 µs each) but copies
# and squares the model a few times (~3 ns a parameter, more when it leaves the caches). Measured on the
# bench's W3 (6 tensors of 39k values on average), the per-tensor path took 0.78 ms a step against 1.0-1.2
# ms flat; on W2 (4.4k on average) 0.28-0.31 ms against 0.18-0.23 ms flat.
FLAT_MEAN_TENSOR = 16384
# How often (in reads) a Flattener checks the tensors' shapes and layout again (their addresses are
# checked at every read).
RECHECK = 64
_data_ptr = torch.Tensor.data_ptr
# A square that overflows (a float32 gradient of 1e20: the norm is inf, as torch's) or inf − inf would make
# numpy warn on the script's stderr (or raise, under -W error). np.errstate costs ~3-15 µs a step in numpy
# 1.x; its error mask set directly, ~1 µs (numpy 2's errstate is a context variable, cheap).
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    try:
        from numpy.core.umath import geterrobj as _geterrobj, seterrobj as _seterrobj  # numpy < 2
    except ImportError:
        _geterrobj = _seterrobj = None


class _Quiet:
    """numpy's floating-point warnings off for one step's arithmetic."""

    def __enter__(self) -> None:
        if _geterrobj is not None:
            self.old = _geterrobj()
            _seterrobj([self.old[0], 0, self.old[2]])
        else:
            self.state = np.errstate(all="ignore")
            self.state.__enter__()

    def __exit__(self, *exc: Any) -> None:
        if _geterrobj is not None:
            _seterrobj(self.old)
        else:
            self.state.__exit__(*exc)


_QUIET = _Quiet()


class Flattener:
    """The values of a list of tensors, end to end, as one flat numpy array.

    The numpy views of the tensors are kept while the tensors stay where they are (their data pointers
    are compared at every read, ~0.1 µs each): reading a kept view is reading the tensor's current
    memory. A kept view holds its tensor, so at most one step's worth of tensors the script has dropped
    (fresh gradients each step) stays alive until the next read."""

    def __init__(self, sizes: Sequence[int], dtype: torch.dtype, out: Optional[np.ndarray] = None) -> None:
        self.sizes = list(sizes)
        self.dtype = dtype
        self.out = np.empty(sum(self.sizes), _NUMPY[dtype]) if out is None else out
        self.ptrs: List[int] = []
        self.views: List[np.ndarray] = []
        self.span: Optional[np.ndarray] = None
        self.reads = 0

    def _bind(self, tensors: Sequence[torch.Tensor], ptrs: List[int]) -> bool:
        views: List[np.ndarray] = []
        for t, n in zip(tensors, self.sizes):
            if (t.dtype != self.dtype or t.layout != torch.strided or t.device.type != "cpu" or t.numel() != n
                    or t.is_conj() or t.is_neg() or not t.is_contiguous()):
                self.ptrs = []
                return False
            views.append(t.detach().numpy().reshape(-1))
        self.views, self.ptrs, self.span = views, ptrs, None
        total = self.out.size
        itemsize = self.out.itemsize
        live = [(p, n) for p, n in zip(ptrs, self.sizes) if n]
        if total and all(a[0] + a[1] * itemsize == b[0] for a, b in zip(live, live[1:])):
            first = next(t for t, n in zip(tensors, self.sizes) if n)
            try:  # end to end in one storage (else as_strided refuses to leave the first tensor's storage)
                self.span = first.detach().as_strided((total,), (1,)).numpy()
            except RuntimeError:
                self.span = None
        return True

    def read(self, tensors: Sequence[torch.Tensor], own: bool = False) -> Optional[np.ndarray]:
        """The flat values, or None when the tensors cannot be read this way. `own`: in this object's
        buffer (the caller may write to it), never a view of the tensors."""
        try:
            ptrs = list(map(_data_ptr, tensors))
        except RuntimeError:  # a sparse tensor has no data pointer
            return None
        self.reads += 1
        if ptrs != self.ptrs or self.reads % RECHECK == 0:
            if len(tensors) != len(self.sizes) or not self._bind(tensors, ptrs):
                return None
        if self.span is not None and not own:
            return self.span
        if len(self.views) == 1:
            np.copyto(self.out, self.views[0])
        elif self.views:
            np.concatenate(self.views, out=self.out)
        return self.out

    def release(self) -> None:
        """Lets go of the tensors read last (the views are bound again at the next read)."""
        self.ptrs, self.views, self.span = [], [], None


def _segment_sums(x: np.ndarray, starts: np.ndarray, nonempty: np.ndarray, count: int, scratch: np.ndarray) -> List[List[float]]:
    """Sums of squares of each row of `x` (1-D: one row) over consecutive segments (`starts` of the
    non-empty ones; `nonempty`: their indices among `count` segments), in x's precision, as Python
    floats (0.0 for empty segments)."""
    x2 = x.reshape(-1, x.shape[-1])
    if not starts.size:
        return [[0.0] * count for _ in range(x2.shape[0])]
    sq = np.square(x2, out=scratch[: x2.shape[0], : x2.shape[1]])
    sums = np.add.reduceat(sq, starts, axis=1)
    if nonempty.size == count:
        return sums.tolist()  # type: ignore[no-any-return]
    out = np.zeros((x2.shape[0], count))
    out[:, nonempty] = sums
    return out.tolist()  # type: ignore[no-any-return]


def _starts(sizes: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
    """reduceat indices of the non-empty segments of these sizes, and which segments they are."""
    pos, starts, which = 0, [], []
    for i, n in enumerate(sizes):
        if n:
            starts.append(pos)
            which.append(i)
        pos += n
    return np.array(starts, np.intp), np.array(which, np.intp)


class Plan:
    """Where each parameter and layer lies in the flat arrays of the parameters that have a gradient this
    step (`present`, indices into the collector's flat parameter list), and each layer's median sample."""

    def __init__(self, present: Tuple[int, ...], sizes: List[int], layers: Sequence[Tuple[int, int]], sample: int) -> None:
        self.present = present
        self.sizes = [sizes[i] for i in present]
        self.starts, self.nonempty = _starts(self.sizes)
        where = {i: k for k, i in enumerate(present)}
        offsets = np.concatenate([[0], np.cumsum(self.sizes, dtype=np.int64)]).tolist() if present else [0]
        # Per layer: its present parameters (positions in `present`), and its element range.
        self.layer_params: List[List[int]] = []
        self.layer_range: List[Tuple[int, int]] = []
        for a, b in layers:
            ks = [where[i] for i in range(a, b) if i in where]
            self.layer_params.append(ks)
            self.layer_range.append((offsets[ks[0]], offsets[ks[-1] + 1]) if ks else (0, 0))
        self.layer_starts, nonempty = _starts([e - s for s, e in self.layer_range])
        # Per layer: its place among the non-empty layers' reductions, or -1.
        self.layer_at = [-1] * len(self.layer_range)
        for j, li in enumerate(nonempty.tolist()):
            self.layer_at[li] = j
        # The median sample: each key strided from its first element, with the layer's stride (as band.py).
        idx: List[np.ndarray] = []
        self.sample_range: List[Tuple[int, int]] = []
        pos = 0
        for ks in self.layer_params:
            total = sum(self.sizes[k] for k in ks)
            stride = 1 if total <= sample else math.ceil(total / sample)
            parts = [np.arange(offsets[k], offsets[k] + self.sizes[k], stride, dtype=np.intp) for k in ks]
            n = sum(p.size for p in parts)
            idx.extend(parts)
            self.sample_range.append((pos, pos + n))
            pos += n
        self.sample_idx = np.concatenate(idx) if idx else np.zeros(0, np.intp)
        self.total = offsets[-1]


# One effective-lr rule per (param group, step count, per-parameter constants) within a step: the host
# function, the state key it reads, and whether it decreases.
_Rule = Tuple[Any, Callable[[float], float], str, bool]


class FlatPath:
    """The flat statistics of one StatsCollector (see the module's docstring)."""

    @staticmethod
    def make(params: List[torch.Tensor], layers: Sequence[Tuple[int, int]], optimizer: torch.optim.Optimizer,
             sample: int) -> Optional["FlatPath"]:
        if not params or effective_lr._kind(optimizer) == "Adadelta" or not sum(p.numel() for p in params):
            return None
        dtype = params[0].dtype
        n = sum(p.numel() for p in params)
        if dtype not in _NUMPY or n > FLAT_MAX or n > FLAT_MEAN_TENSOR * len(params):
            return None
        if any(p.dtype != dtype or p.device.type != "cpu" or p.is_sparse for p in params):
            return None
        return FlatPath(params, layers, optimizer, sample)

    def __init__(self, params: List[torch.Tensor], layers: Sequence[Tuple[int, int]], optimizer: torch.optim.Optimizer,
                 sample: int) -> None:
        self.params = params
        self.layers = list(layers)
        self.optimizer = optimizer
        self.sample = sample
        self.kind = effective_lr._kind(optimizer)
        self.constant = self.kind not in effective_lr.ADAPTIVE
        self.sizes = [p.numel() for p in params]
        self.dtype = params[0].dtype
        self.n = sum(self.sizes)
        self.starts, self.nonempty = _starts(self.sizes)
        # The gradients, the weights after the update and before it, as the rows of one matrix: their
        # sums of squares are one square and one reduceat. The rows of the weights and of the parameters
        # before the update trade places (keep_as_before): `rows` says which is which.
        self.m = np.empty((3, self.n), _NUMPY[self.dtype])
        self.rows = [0, 1, 2]  # gradients, weights, before
        self.grads = Flattener(self.sizes, self.dtype, self.m[0])
        self.weights = Flattener(self.sizes, self.dtype, self.m[1])
        self.before_buf = Flattener(self.sizes, self.dtype, self.m[2])
        self.scratch = np.empty((3, self.n), _NUMPY[self.dtype])
        self.zero_buf = np.empty(self.n, np.bool_)
        self.plans: Dict[Tuple[int, ...], Plan] = {}
        # Readers of the gradients of a subset of the parameters (some without a gradient this step), and
        # of the state keys of the parameters that have them; by the parameters they read.
        self.grad_readers: Dict[Tuple[int, ...], Flattener] = {}
        self.key_readers: Dict[Tuple[int, ...], Flattener] = {}
        self.gathers: Dict[Tuple[Tuple[int, ...], Tuple[int, ...]], np.ndarray] = {}
        # This step's flat gradients (a view or the Flattener's buffer) and which parameters had one.
        self.g: Optional[np.ndarray] = None
        self.present: Tuple[int, ...] = ()
        self.b: Optional[np.ndarray] = None  # the parameters before the update (own buffer)
        self.w_from: Any = None  # the tensor list the last after() read the weights from
        self.group_of: Dict[int, dict] = {id(p): g for g in optimizer.param_groups for p in g["params"]}
        self._all = tuple(range(len(params)))
        self.steps = 0  # steps computed here (the rest went to the per-tensor path)

    # -- what is read before the update -------------------------------------------------------------
    def take_grads(self, own: bool) -> bool:
        """The gradients as they are now. `own`: copied (they are read ahead of the update, and the
        optimizer or the training process may change them before after()); else a view when they lie end
        to end in memory (the helper's private copy). False: not readable this way."""
        grads = [p.grad for p in self.params]
        present = self._all
        flat = self.grads
        if any(g is None for g in grads):  # not `None in grads`: that compares each tensor with None (~17 µs each)
            present = tuple(i for i, g in enumerate(grads) if g is not None)
            grads = [grads[i] for i in present]
            flat = self.grad_readers.get(present)  # type: ignore[assignment]
            if flat is None:
                flat = self.grad_readers[present] = Flattener(self.plan(present).sizes, self.dtype)
        g = flat.read(grads, own=own)  # type: ignore[arg-type]
        self.g, self.present = g, present
        return g is not None

    def take_before(self, tensors: Sequence[torch.Tensor]) -> bool:
        b = self.before_buf.read(tensors, own=True)
        self.b = b
        return b is not None

    def clear(self) -> None:
        self.g = None
        self.b = None

    def plan(self, present: Tuple[int, ...]) -> Plan:
        plan = self.plans.get(present)
        if plan is None:
            if len(self.plans) > 8:  # gradients come and go from step to step: keep the recent plans
                self.plans.clear()
                self.grad_readers.clear()
                self.key_readers.clear()
                self.gathers.clear()
            plan = self.plans[present] = Plan(present, self.sizes, self.layers, self.sample)
        return plan

    # -- the effective-lr rules -------------------------------------------------------------------------
    def _rules(self, plan: Plan, off: set) -> Optional[List[Optional[Tuple[_Rule, List[torch.Tensor]]]]]:
        """Per layer: its one effective-lr rule and the state tensors it reads (keys), None for a
        switched-off layer; or None when some layer needs the per-tensor path (its tensors follow
        different rules, one has no state, an empty tensor, a centered RMSprop)."""
        state = self.optimizer.state
        group_of = self.group_of
        params = self.params
        rules: Dict[Tuple[Any, ...], _Rule] = {}
        out: List[Optional[Tuple[_Rule, List[torch.Tensor]]]] = []
        nadam = self.kind == "NAdam"
        for li, ks in enumerate(plan.layer_params):
            if li in off or not ks:
                out.append(None)
                continue
            rule: Optional[_Rule] = None
            keys: List[torch.Tensor] = []
            for k in ks:
                p = params[plan.present[k]]
                st = state.get(p)
                if not st or not plan.sizes[k]:
                    return None  # the per-tensor path says why (an empty layer's band is switched off there)
                group = group_of.get(id(p), {})
                t = st.get("step", 1.0)
                t = t.item() if isinstance(t, torch.Tensor) else t
                at = (id(group), t, effective_lr._f(st["mu_product"]) if nadam else None)
                r = rules.get(at)
                if r is None:
                    r = self._rule(p, group, st)
                    if r is None:
                        return None
                    rules[at] = r
                if rule is None:
                    rule = r
                elif r is not rule and r[0] != rule[0]:
                    return None  # different rules in one layer: the per-tensor path maps each tensor
                key = st.get(r[2])
                if key is None:
                    return None
                keys.append(key)
            out.append((rule, keys))  # type: ignore[arg-type]
        return out

    def _rule(self, p: torch.Tensor, group: dict, st: dict) -> Optional[_Rule]:
        """effective_lr.post_step's rule for this parameter: its signature, host function and state key."""
        if self.kind == "RMSprop" and group.get("centered"):
            return None  # its key is computed (E[g²] − E[g]²): the per-tensor path
        src = effective_lr.post_step(self.optimizer, p, group)
        if src is None or src.host is None or src.signature is None:
            return None
        name = next((k for k, v in st.items() if v is src.key), None)
        if name is None:
            return None
        return (src.signature, src.host, name, src.decreasing)

    # -- the step's statistics --------------------------------------------------------------------------
    def after(self, weights: Sequence[torch.Tensor], off: set) -> Optional["FlatResult"]:
        """Norms, zero counts and bands of this step, or None (the per-tensor path takes the step; nothing
        read so far is changed, so it can)."""
        with _QUIET:
            return self._after(weights, off)

    def _after(self, weights: Sequence[torch.Tensor], off: set) -> Optional["FlatResult"]:
        g = self.g
        if g is None:
            return None
        plan = self.plan(self.present)
        rules: Optional[List[Any]] = None
        if not self.constant:
            rules = self._rules(plan, off)
            if rules is None:
                return None
        zero = np.equal(g, 0, out=self.zero_buf[: g.size])
        any_zero = bool(zero.any())
        bands: List[Optional[Tuple[float, float, float]]] = [None] * len(plan.layer_range)
        if rules is not None and any(r is not None for r in rules):
            got = self._bands(plan, rules, zero if any_zero else None)
            if got is None:
                return None
            bands = got
        w = self.weights.read(weights)
        if w is None:
            return None
        self.w_from = weights
        zeros = [int(np.count_nonzero(zero[s:e])) for s, e in plan.layer_range] if any_zero else [0] * len(plan.layer_range)
        numels = [e - s for s, e in plan.layer_range]
        n_params = len(self.params)
        rows = self.rows
        m = self.m
        if w is not m[rows[1]] and w is not self.weights.out:
            np.copyto(m[rows[1]], w)  # weights read in place (they lay end to end): into their row
        b = self.b
        if b is not None:
            np.subtract(b, m[rows[1]], out=b)  # the update, negated (its norm is the same)
        whole = len(plan.present) == n_params
        if whole and g is not self.grads.out:
            np.copyto(m[rows[0]], g)  # the gradients read in place: into their row
        # One square and one reduceat over the rows wanted (in the order of `m`'s rows).
        want = sorted(r for r, on in zip(rows, (whole, True, b is not None)) if on)
        part = m[want[0] : want[-1] + 1]
        sums = _segment_sums(part, self.starts, self.nonempty, n_params, self.scratch)
        at = {r: sums[r - want[0]] for r in want}
        wsq = at[rows[1]]
        usq = at[rows[2]] if b is not None else [0.0] * n_params
        if whole:
            gsq = at[rows[0]]
        else:
            gsq_present = _segment_sums(g, plan.starts, plan.nonempty, len(plan.present), self.scratch)[0]
            gsq = [0.0] * n_params
            for k, i in enumerate(plan.present):
                gsq[i] = gsq_present[k]
        present = [[plan.present[k] for k in ks] for ks in plan.layer_params]
        self.steps += 1
        return FlatResult(gsq, wsq, usq, zeros, numels, bands, present)

    def _bands(self, plan: Plan, rules: List[Any], zero: Optional[np.ndarray]) -> Optional[List[Optional[Tuple[float, float, float]]]]:
        """Each layer's (min, p50, max) effective lr: order statistics of its keys (zero-gradient elements
        left out as NaN) mapped through the layer's host function, as stats._host_band. None: the keys
        cannot be read flat (the per-tensor path takes the step)."""
        keys: List[torch.Tensor] = []
        for r in rules:
            if r is not None:
                keys.extend(r[1])
        with_keys = tuple(plan.present[k] for li, ks in enumerate(plan.layer_params) if rules[li] is not None for k in ks)
        kplan = plan if with_keys == plan.present else self.plan(with_keys)
        flat = self.key_readers.get(with_keys)
        if flat is None:
            flat = self.key_readers[with_keys] = Flattener(kplan.sizes, self.dtype)
        k = flat.read(keys, own=zero is not None)
        if k is None:
            return None
        if zero is not None:
            if kplan is not plan:  # the zero mask of the parameters that have keys
                zero = np.take(zero, self._gather(plan, kplan))
            np.copyto(k, np.nan, where=zero)  # k is the Flattener's own buffer
        starts = kplan.layer_starts
        lo = np.fmin.reduceat(k, starts).tolist() if starts.size else []
        hi = np.fmax.reduceat(k, starts).tolist() if starts.size else []
        sample = np.take(k, kplan.sample_idx)
        nan = np.isnan(sample)
        any_nan = bool(nan.any())
        out: List[Optional[Tuple[float, float, float]]] = []
        at = kplan.layer_at
        for li, r in enumerate(rules):
            j = at[li]
            if r is None or j < 0:
                out.append(None)
                continue
            l_lo, l_hi = lo[j], hi[j]
            if l_lo != l_lo:  # every key NaN: no element (as band.py)
                l_lo, l_hi = math.inf, -math.inf
            a, e = kplan.sample_range[li]
            s = sample[a:e]
            n = s.size - (int(np.count_nonzero(nan[a:e])) if any_nan else 0)
            if n == 0:
                mid_lo = mid_hi = math.nan
            else:
                k1, k2 = (n - 1) // 2, n // 2
                if s.size > 1:
                    s.partition((k1, k2))  # in place: the sample is this step's own copy; NaN sorts after every number
                mid_lo, mid_hi = float(s[k1]), float(s[k2])
            (_, host, _, decreasing) = r[0]
            f_lo, f_hi, mid = host(l_lo), host(l_hi), (host(mid_lo) + host(mid_hi)) / 2
            out.append((f_hi, mid, f_lo) if decreasing else (f_lo, mid, f_hi))
        return out

    def _gather(self, plan: Plan, kplan: Plan) -> np.ndarray:
        """Positions in `plan`'s flat arrays of the elements of `kplan`'s parameters (a subset)."""
        got = self.gathers.get((plan.present, kplan.present))
        if got is None:
            offsets = np.concatenate([[0], np.cumsum(plan.sizes, dtype=np.int64)])
            where = {i: k for k, i in enumerate(plan.present)}
            parts = [np.arange(offsets[where[i]], offsets[where[i] + 1], dtype=np.intp) for i in kplan.present]
            got = np.concatenate(parts) if parts else np.zeros(0, np.intp)
            self.gathers[(plan.present, kplan.present)] = got
        return got

    def keep_as_before(self, weights: Sequence[torch.Tensor]) -> None:
        """`weights` (read by the last after()) are the parameters the next step starts from: the buffer
        they were read into becomes the `before` buffer (no copy)."""
        if self.w_from is weights:
            rows = self.rows
            rows[1], rows[2] = rows[2], rows[1]
            self.weights.out, self.before_buf.out = self.m[rows[1]], self.m[rows[2]]
            self.b = self.before_buf.out
        else:
            self.take_before(weights)
        self.w_from = None

    def legacy(self) -> Tuple[Optional[List[Optional[torch.Tensor]]], Optional[List[torch.Tensor]]]:
        """This step's gradients and `before` parameters as per-tensor torch views of the flat copies,
        for the per-tensor path (None where not taken)."""
        grads: Optional[List[Optional[torch.Tensor]]] = None
        if self.g is not None:
            g = torch.from_numpy(self.g)
            grads = [None] * len(self.params)
            pos = 0
            for i in self.present:
                n = self.sizes[i]
                grads[i] = g[pos : pos + n].view(self.params[i].shape)
                pos += n
        before: Optional[List[torch.Tensor]] = None
        if self.b is not None:
            b = torch.from_numpy(self.b)
            before = []
            pos = 0
            for p, n in zip(self.params, self.sizes):
                before.append(b[pos : pos + n].view(p.shape))
                pos += n
        return grads, before


class FlatResult:
    """One step's flat statistics: per-parameter sums of squares; per layer the zero-gradient count, the
    element count and the indices of the parameters with a gradient, and the effective-lr band (None:
    no adaptive rule)."""

    __slots__ = ("gsq", "wsq", "usq", "zeros", "numels", "bands", "present")

    def __init__(self, gsq: List[float], wsq: List[float], usq: List[float], zeros: List[int], numels: List[int],
                 bands: List[Optional[Tuple[float, float, float]]], present: List[List[int]]) -> None:
        self.gsq, self.wsq, self.usq, self.zeros, self.numels, self.bands = gsq, wsq, usq, zeros, numels, bands
        self.present = present
