"""A light step's measurement (cadence.py): the global gradient norm, in the training process. A light step
reports its loss, this norm and the lr, with no per-layer pass; InlineLight takes a whole one in two calls
when the run is monitored in the training process."""
import math
import sys
from typing import Any, List, Optional

import numpy as np
import torch

from . import degrade, relayout
from .stats import tensor_norms

_data_ptr = torch.Tensor.data_ptr
_grad = torch.Tensor.grad.__get__  # type: ignore[attr-defined]
_dot = np.ndarray.dot
_NUMPY = (torch.float32, torch.float64)
# OpenBLAS splits a dot product of more than 10,000 elements over its threads (a wake-up of a thread
# the script's GEMMs may be using, and a summation order that follows the thread count): longer
# gradients are read in chunks below that.
CHUNK = 8192
# How often (in reads) the gradients' shapes and layout are checked again (their addresses: every read).
RECHECK = 64


class GradNorm:
    """The norm of every parameter's gradient taken as one vector: each gradient's sum of squares (a float32
    gradient's in float32, as torch's own norm), added in float64, and the root. A detailed step takes the
    same quantity from float64 sums of float32 sums of squares (flat_stats.py); the two agree to float32
    rounding (a relative 1e-6 at most, torch's float32 norm included), not bit for bit. A NaN or Inf element
    makes its sum NaN or Inf, so the norm is not finite exactly when some gradient element is not (or when a
    sum overflows, which is where the values are headed anyway): the step is then taken with per-layer
    statistics (monitor.py).

    Dense float CPU gradients are read through numpy views kept from step to step (their addresses are
    compared at every read, ~0.1 µs each; a view holds its tensor, so at most one step's dropped gradients
    stay alive until the next read): one BLAS dot product per gradient (per CHUNK of one). Measured in W2's
    training loop (one BLAS thread, right after backward()): ≈ 20 µs against ≈ 28 µs for torch 1.13's
    `torch._foreach_norm`, which is one norm kernel per tensor on the CPU (docs/performance.md). Anything
    else (sparse, GPU, half precision, not contiguous) takes one `torch._foreach_norm`, and so do gradients at
    addresses not seen at the read before (`zero_grad(set_to_none=True)` makes new ones at each step): they are
    viewed only once the same ones come again."""

    def __init__(self) -> None:
        self.ptrs: List[int] = []
        self.views: List[np.ndarray] = []
        self.reads = 0
        self.seen: List[int] = []  # the addresses of the last read that did not bind views

    def __call__(self, params: List[torch.Tensor]) -> float:
        present = list(map(_grad, params))  # each .grad read once, with no Python frame of a comprehension
        try:
            ptrs = list(map(_data_ptr, present))
        except TypeError:  # a parameter without a gradient (None)
            present = [g for g in present if g is not None]
            if not present:
                return 0.0
            ptrs = None
        except RuntimeError:  # a sparse gradient has no data pointer: torch's norm (_views says so)
            ptrs = None
        self.reads += 1
        if ptrs is not None and ptrs == self.ptrs and self.reads % RECHECK:
            # The common read, in this one frame: the same gradients as the last read's views.
            views: Optional[List[np.ndarray]] = self.views
        else:
            self.reads -= 1
            views = self._views(present)
        if views is not None:
            # ndarray.dot: np.dot's BLAS call without its __array_function__ dispatch (three Python-level
            # calls a view, more than the dot product of a small gradient costs)
            return math.sqrt(sum(map(float, map(_dot, views, views))))
        # No no_grad() context: a gradient made with create_graph=True gives its norm a graph, dropped with
        # the 0-d tensor at once; the value is the same and the context cost more than the sum.
        return math.sqrt(sum([x * x for x in map(float, tensor_norms(present))]))

    def _views(self, grads: List[torch.Tensor]) -> Optional[List[np.ndarray]]:
        """The gradients' numpy views (chunked), or None for this read (torch's norm then)."""
        try:
            ptrs = list(map(_data_ptr, grads))
        except RuntimeError:  # a sparse tensor has no data pointer
            self.release()
            return None
        self.reads += 1
        if ptrs == self.ptrs and self.reads % RECHECK:
            return self.views
        if ptrs != self.ptrs and ptrs != self.seen:
            # New gradients at this read (the first, or replaced at every step): bound only when the same
            # ones come again, so a script that makes fresh ones each step pays no binding per step.
            self.release()
            self.seen = ptrs
            return None
        views = self._bind(grads)
        if views is None:
            self.release()
            self.seen = ptrs
            return None
        self.ptrs, self.views, self.seen = ptrs, views, []
        return views

    @staticmethod
    def _bind(grads: List[torch.Tensor]) -> Optional[List[np.ndarray]]:
        views: List[np.ndarray] = []
        for g in grads:
            if (g.dtype not in _NUMPY or g.layout != torch.strided or g.device.type != "cpu" or g.is_conj() or g.is_neg()
                    or not g.is_contiguous()):
                return None
            flat = g.detach().numpy().reshape(-1)
            n = flat.size
            views.extend([flat] if n <= CHUNK else [flat[i : i + CHUNK] for i in range(0, n, CHUNK)])
        return views

    def release(self) -> None:
        """Lets go of the gradients read last."""
        self.ptrs, self.views = [], []



_MAX = sys.float_info.max  # within ±_MAX is finite (NaN fails every comparison)


class InlineLight:
    """The whole of a light step for a run monitored in the training process (no helper process): what
    Monitor.pre_step and post_step do for one, in one call before the update and one after, with no
    per-step allocation beyond the event's line. Anything else (not started, a closure, a detailed or
    unmonitored step, a layout to look at, a NaN/Inf loss or gradient) returns False from `pre` with
    nothing changed, and the step takes the general path, which reads the loss and the norm again. The
    events are the general path's (python/tests/test_light.py compares the two streams)."""

    def __init__(self, monitor: Any) -> None:
        self.monitor = monitor
        self.value: Optional[float] = None
        self.norm = 0.0

    def pre(self, loss: Optional[torch.Tensor]) -> bool:
        m = self.monitor
        if m.ended or not m.started or m.link is not None:
            return False
        cadence = m.cadence
        if not cadence.next_monitored or cadence.detail_next or m.detail_due or relayout.due(m):
            return False
        value: Optional[float] = None
        if loss is not None:
            value = loss.item()
            if not -_MAX <= value <= _MAX:
                return False
        stats = m.stats
        norm = m.grad_norm(stats.flat if stats is not None else m.params())
        if not norm <= _MAX:
            return False
        m.monitoring_this_step = True
        m.closure_step = m.detail_this_step = False
        self.value, self.norm = value, norm
        return True

    def post(self, _loss: Optional[torch.Tensor]) -> None:
        m = self.monitor
        if m.ended:
            return
        m.steps = steps = m.steps + 1
        m.light_steps += 1
        groups = m.optimizer.param_groups
        lr = groups[0]["lr"] if groups else 0.0
        activity = m.activity
        rows = 0
        if activity is not None:
            rows = activity.batch_rows
            if activity.module_flags or activity._activity:
                activity.take()
        m.report.light_step(steps, self.value, lr if type(lr) is float else float(lr), self.norm, rows)
        if activity is not None and activity.failures:
            for layer, quantity, reason in activity.take_failures():
                degrade.switch_off(m, "activity", reason, layer=layer, quantity=quantity)
        cadence = m.cadence
        cadence.decide_next(steps, True, False)
        if activity is not None and cadence.detail_next != activity.attached:
            cadence.plan_inline_activity(activity)
        if cadence.max_steps is not None:
            cadence.check_budget(steps)
