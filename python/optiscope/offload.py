"""Monitoring off the training process: a forked helper computes the statistics and writes the events
(the Node side judges them), so the training loop pays only for two small messages in shared memory per
step.

Why: in Python every torch call costs about a microsecond of dispatch and every line of the statistics a
few hundred nanoseconds; done inline, a mid-size MLP's step grew by ~3× (docs/performance.md). The helper
runs on another core while the script does its next forward and backward.

How the helper sees the numbers without copies:
- parameters are moved to shared memory in place (`Tensor.share_memory_()`, what Hogwild! training
  uses: every view and alias of a parameter keeps pointing at the same storage);
- the optimizer's state tensors are moved into a shared arena (`Tensor.set_`, the tensors keep their
  identity, so the optimizer goes on updating them in place); state created later (parameters that get
  their first gradient late) is moved when it appears;
- gradients the script keeps between steps (zero_grad() without set_to_none) are shared in place and
  read during `step()`; fresh ones are copied into the arena (one `torch.cat` per dtype), because
  `zero_grad` may free or zero them right after `step()`.
The helper is a `fork` of the training process taken after the first monitored step, so it inherits the
monitor (layout, run state) and reads the same shared pages. Messages (records.py) go through a ring of
slots on a shared control page (the pipe carries only rare or large ones, doorbells, and the end of
file); after reading a step the helper acks on that page, and the training process waits for the ack
before its next `step()` may change the parameters, so at most one step is in flight and nothing is
lost on a crash of either side.

Used on Linux for CPU training without a closure, with at most MAX_STORAGES parameter tensors (each
shared parameter holds a file descriptor) and with a core the training process's threads leave free
(compute_threads); everything else is monitored inline (monitor.py).
Set OPTISCOPE_OFFLOAD=0 to monitor inline always.
"""
import math
import mmap
import os
import pickle
import select
import signal
import struct
import sys
import time
import warnings
from collections import deque
from itertools import repeat
from operator import attrgetter, is_, is_not
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

from . import naming, probes as probes_module, relayout
from .cadence import GOVERNOR_MIN_PARAMETERS, StopTraining
from .records import (ActivitySample, Finish, GradsReady, GroupsChanged, HandBack, LightStep, ProbeResult, ProbeUnavailable,
                      Record, Snapshot, StateMove, StepTaken, Unsupported)
from .stats import StepStats

_grad_of = attrgetter("grad")
_NONES = repeat(None)  # endless: `map(is_, tensors, _NONES)` compares each with None


def _none_among(grads: Any) -> bool:
    """Is any of these gradients None? (`map(is_, ..., repeat(None))` loops in C; a generator expression
    costs a Python frame per tensor, and `None in tensors` compares each tensor with None, ~17 µs each.)"""
    return any(map(is_, grads, repeat(None)))

# Shared parameter storages hold one file descriptor each; beyond this the training process stays inline.
MAX_STORAGES = 512
# Models with fewer parameters than this have their gradients copied into the arena at every monitored
# step instead of read in place (Link.copy_always); the models the judge runs in lock-step (cadence.py).
COPY_GRADS_BELOW = GOVERNOR_MIN_PARAMETERS
ALIGN = 64
_HEADER = struct.Struct("<I")
_U64 = struct.Struct("<Q")
# The control page, shared by both processes: counters, flags and a ring of fixed-size slots for the
# messages of every step, so that neither side makes a system call per step (a pipe write and a read
# cost the training process ~12µs a step, 3.5% of a mid-size MLP's). Each side writes its own cache line.
_SENT = 0  # training process: messages published
_WAITING = 8  # training process: 1 while it sleeps on the ack pipe (the helper then writes a byte to it)
_SEEN = 64  # helper: messages consumed
_ACKED = 72  # helper: acks given
_TRIG_SEQ = 80  # helper: probe triggers given
_TRIG_CODE = 88  # helper: the last trigger, an index in TRIGGERS
_SLEEPING = 96  # helper: 1 while it may sleep on the pipe (a slot message then rings the doorbell)
_BEST = 104  # helper, when it hands the run back: the lowest loss it reported and its step (-1: none)
_BEST_RECORD = struct.Struct("<dq")
_RING_AT = 1024
_SLOT = 64
RING = 32
# What a ring slot holds (its first byte): the next record is the next frame on the pipe (large or rare
# ones), or the slot itself is the record (GradsReady, a common StepTaken, Snapshot, LightStep).
K_PIPE, K_GRADS, K_STEP, K_SNAP, K_LIGHT = 0, 1, 2, 3, 4
# A StepTaken in a slot: slot kind, has_loss, inplace, affordable, possible, number of lrs, step, rows,
# loss, up to MAX_SLOT_LRS learning rates (one per param group).
_STEP = struct.Struct("<BBBBBBxxqqd3d")
MAX_SLOT_LRS = 3
# A LightStep in a slot: slot kind, has_loss, step, rows, loss, gradient norm, lr.
_LIGHT = struct.Struct("<BBxxxxxxqqddd")
_GRADS_READY, _SNAPSHOT = GradsReady(), Snapshot()  # the slot-only records carry nothing: one of each
_DOORBELL = _HEADER.pack(0)  # an empty frame: wakes a sleeping helper, carries nothing
# A missed doorbell (the flag and the counter crossed in flight) or ack costs at most this long.
WAKE_TIMEOUT = 0.01
# Ack bytes: a plain ack, or the curvature-probe trigger the detectors asked for.
TRIGGERS = ["", "small-gradient", "stall", "scheduled"]
# Each side polls the shared counters for a short, bounded while before it sleeps (the helper on the pipe
# until a doorbell, the training process on the ack pipe). A sleeping reader costs the writer a wake-up per
# step: a write that wakes it (~5µs of CPU) and, on a busy 2-core machine, often its core, which the
# woken process takes over; and an idle helper that must be woken starts each step late (at load 5-7, W2 at
# every step: 350 voluntary context switches a run with these polls against 990 without, and a lower wall
# ratio in four interleaved pairs of five; on a quiet machine no difference was resolved; docs/performance.md
# "Sixth round: the every-step handoff"). But an unbounded poll spends the poller's CPU share doing nothing: on a busy machine
# (other jobs, the script's own BLAS threads, the Node side) it was then descheduled when its message
# came, and W2 under the bridge took 5-8x the plain script's wall time instead of 1.1-4x (docs/pytorch.md).
# So the polls are bounded and adaptive:
# - the helper, after a step it acked, polls for the next one until about when it is due (the longest of
#   the last few intervals between acked messages, measured by the helper), only when that interval is at
#   most HELPER_SPIN_MAX (a slower pace gains nothing from a poll; a light step needs no answer), only
#   while the machine's run queue (/proc/loadavg, looked at every HELPER_SPIN_LOAD_EVERY acks) has no more
#   runnable tasks than cores (else the poll takes CPU that a waiting process, maybe the training process,
#   needs), and not at all for a while after a poll in which it held its core less than half the time
#   (another process wants that core: polling would only be descheduled at the wrong moment);
# - the training process polls for an ack for up to ACK_SPIN_MAX, halving that window each time the ack
#   did not come within it (down to ACK_SPIN_MIN) and widening it to twice the wait that succeeded.
# OPTISCOPE_HANDOFF_SPIN=0 turns both polls off (both sides then sleep at once, for comparisons).
HELPER_SPIN_MAX = 2_000_000  # ns
HELPER_SPIN_INTERVALS = 4  # acked intervals the helper's window looks back on
HELPER_SPIN_BACKOFF = 256  # acked messages the helper sleeps at once for after a contended poll
HELPER_SPIN_SHARE = 0.5  # the least share of a poll's wall time the helper must have held its core
HELPER_SPIN_JUDGED = 100_000  # ns: a shorter poll says too little about its share to back off
HELPER_SPIN_LOAD_EVERY = 32  # acks between two looks at the run queue (reading /proc/loadavg: ~20µs)
ACK_SPIN_MAX = 100_000  # ns
ACK_SPIN_MIN = 5_000  # ns


def _spinning() -> bool:
    return os.environ.get("OPTISCOPE_HANDOFF_SPIN", "1") != "0"


def _runnable_tasks() -> int:
    """Tasks runnable on the machine right now, the reader included (/proc/loadavg's "running/total");
    0 when unknown."""
    try:
        with open("/proc/loadavg", "rb") as f:
            return int(f.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return 0

_arenas: List[mmap.mmap] = []  # never unmapped: tensors live in them until the process ends
_fork_fds: List[int] = []  # closed in every other forked child (DataLoader workers) so EOF still reaches the helper
_forking = False


def _close_in_other_children() -> None:
    if _forking:
        return
    for fd in _fork_fds:
        try:
            os.close(fd)
        except OSError:
            pass
    _fork_fds.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_in_other_children)


def _kind_of(optimizer: torch.optim.Optimizer) -> str:
    from .effective_lr import _kind

    return _kind(optimizer)


def eligible(monitor: Any) -> Optional[str]:
    """None when the monitor can be offloaded, else why not (for the docs' and tests' sake)."""
    if os.environ.get("OPTISCOPE_OFFLOAD", "1") == "0":
        return "disabled by OPTISCOPE_OFFLOAD=0"
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return "not Linux"
    if monitor.closure is not None:
        return "a closure: its probes run at the step that asks for them"
    if _kind_of(monitor.optimizer) == "Adadelta":
        return "Adadelta's effective lr needs the state before the update"
    params = monitor.stats.flat if monitor.stats is not None else []
    if not params:
        return "no parameters"
    for p in params:
        if p.device.type != "cpu" or p.is_sparse or not p.is_floating_point():
            return "parameters not dense floating-point CPU tensors"
        if p.grad is not None and p.grad.is_sparse:
            return "sparse gradients"
    storages = {_storage_ptr(p) for p in params}
    if len(storages) > MAX_STORAGES:
        return f"more than {MAX_STORAGES} parameter tensors"
    if not _spare_core():
        return f"no core to spare: the training process computes with {compute_threads()} threads on {_cores()} cores"
    return None


def _spare_core() -> bool:
    return _cores() > compute_threads()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def compute_threads() -> int:
    """Threads the training process computes with: torch's intra-op threads, or OpenBLAS's own pool
    when torch uses OpenBLAS (Debian's build: the pool is sized to the machine and ignores
    torch.set_num_threads; OPENBLAS_NUM_THREADS sets it).

    Why it matters: those threads spin between matrix products and a product waits for its slowest
    thread, so a helper on one of their cores stalls every product. Measured on 2 cores, a W2 step with
    OpenBLAS's two threads: 5.5x with the helper, 2.2x monitored inline. At a lower priority the helper
    would starve instead whenever other work keeps the machine busy (130x at nice 19 next to two busy
    processes), so with no spare core the monitoring stays inline."""
    n = torch.get_num_threads()
    for get in _openblas("openblas_get_num_threads"):
        n = max(n, int(get()))
    return n


def _openblas(name: str) -> List[Any]:
    """The function `name` of every OpenBLAS library loaded in this process (none when there is none)."""
    found: List[Any] = []
    try:
        import ctypes

        with open("/proc/self/maps", encoding="utf-8") as f:
            paths = {line.split()[-1] for line in f if "libopenblas" in line and "/" in line}
        for path in paths:
            fn = getattr(ctypes.CDLL(path), name, None)
            if fn is not None:
                found.append(fn)
    except (OSError, ValueError):
        pass
    return found


def _helper_threads() -> None:
    """In the helper only: one compute thread. torch.set_num_threads does not reach Debian's OpenBLAS,
    whose pool (sized to the machine) would otherwise spin against the training process's own threads
    after the helper's first matrix product. The training process's settings are left as the script set them."""
    torch.set_num_threads(1)
    for set_threads in _openblas("openblas_set_num_threads"):
        set_threads(1)


def _storage_ptr(t: torch.Tensor) -> int:
    try:
        return t.untyped_storage().data_ptr()  # torch >= 2.0
    except AttributeError:
        return t.storage().data_ptr()


class Arena:
    """Bump allocator over one anonymous shared mapping (inherited by fork, shared with the helper)."""

    def __init__(self, nbytes: int) -> None:
        self.size = max(nbytes, ALIGN)
        self.mm = mmap.mmap(-1, self.size)
        _arenas.append(self.mm)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "non-writable buffer" never applies to an anonymous mapping
            self.bytes = torch.frombuffer(self.mm, dtype=torch.uint8)
        self.used = 0

    def take(self, numel: int, dtype: torch.dtype) -> Optional[Tuple[int, torch.Tensor]]:
        size = max(numel, 1) * torch.empty((), dtype=dtype).element_size()
        start = -(-self.used // ALIGN) * ALIGN
        if start + size > self.size:
            return None
        self.used = start + size
        return start, self.bytes[start : start + size].view(dtype)[:numel]

    def view(self, start: int, numel: int, dtype: torch.dtype, shape: Sequence[int]) -> torch.Tensor:
        size = max(numel, 1) * torch.empty((), dtype=dtype).element_size()
        return self.bytes[start : start + size].view(dtype)[:numel].view(tuple(shape))


def _frame(record: Record) -> bytes:
    data = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class Link:
    """The training process's side of the helper: grad copies, messages, acks."""

    def __init__(self, monitor: Any) -> None:
        self.monitor = monitor
        stats = monitor.stats
        self.flat: List[torch.Tensor] = list(stats.flat)
        total = sum(p.numel() * p.element_size() + ALIGN for p in self.flat)
        # Gradients once, optimizer state up to three times the parameters (Adam with AMSGrad keeps
        # exp_avg, exp_avg_sq and max_exp_avg_sq) plus small tensors (step counters).
        self.arena = Arena(total * 4 + 64 * len(self.flat) * ALIGN + (1 << 16))
        self.ctrl = mmap.mmap(-1, max(mmap.PAGESIZE, _RING_AT + RING * _SLOT))
        _arenas.append(self.ctrl)
        self.sent = 0
        self.expect = 0  # acks the training process has asked for so far
        self.ack_spin = ACK_SPIN_MAX if _spinning() else 0  # ns the next wait polls for its ack (see ACK_SPIN_MAX)
        self.trig_seen = 0
        # Gradient slots: one contiguous region per dtype, parameters in layout order within it.
        self.grad_regions: Dict[torch.dtype, Tuple[int, int, List[int]]] = {}
        self.grad_slot: List[Tuple[torch.dtype, int, int]] = []  # per param: dtype, start element, numel
        by_dtype: Dict[torch.dtype, List[int]] = {}
        for i, p in enumerate(self.flat):
            by_dtype.setdefault(p.dtype, []).append(i)
        self.grad_slot = [(p.dtype, 0, 0) for p in self.flat]
        for dtype, idx in by_dtype.items():
            n = sum(self.flat[i].numel() for i in idx)
            start, region = self.arena.take(n, dtype)  # type: ignore[misc]
            pos = 0
            for i in idx:
                self.grad_slot[i] = (dtype, pos, self.flat[i].numel())
                pos += self.flat[i].numel()
            self.grad_regions[dtype] = (start, n, idx)
        self._regions = {dtype: self.arena.view(start, n, dtype, (n,)) for dtype, (start, n, _) in self.grad_regions.items()}
        self.single = len(self._regions) == 1
        self.region = next(iter(self._regions.values()))
        self.moved_state: Dict[int, int] = {}  # id(state tensor) -> 1 once it lives in the arena
        self.state_count = -1
        self.pid = 0
        self.cmd_w = self.ack_r = -1
        self.missing: Tuple[int, ...] = ()
        self._grads: List[Optional[torch.Tensor]] = []
        self._views: List[torch.Tensor] = []
        # Gradient tensors moved to shared memory before the fork: while the script keeps them
        # (zero_grad() without set_to_none, torch 1.x's default) the helper reads them in place during
        # optimizer.step() instead of the training process copying them.
        self.shared_grads: List[Optional[torch.Tensor]] = []
        # A small model's gradients are copied into the arena even when they are shared: one torch.cat
        # (~5 µs for 100,000 parameters) costs the training process less than the handoff that reading
        # them in place needs (a message the helper must wake for, and a wait for its ack before
        # zero_grad(): on a 2-core VM each cross-process wake-up costs ~30 µs of CPU, a W2 step ≈ 500 µs).
        self.copy_always = sum(p.numel() for p in self.flat) < COPY_GRADS_BELOW
        self.inplace = False
        self.alive = False
        self.groups_signature: Any = None
        self.monitored = 0

    # -- setting up ---------------------------------------------------------------------------------
    def _move_state(self) -> List[StateMove]:
        """Moves every optimizer state tensor not yet in the arena into it; returns where each went, for the helper."""
        moved: List[StateMove] = []
        state = self.monitor.optimizer.state
        with torch.no_grad():
            for i, p in enumerate(self.flat):
                st = state.get(p)
                if not st:
                    continue
                for key, t in st.items():
                    if not isinstance(t, torch.Tensor) or t.device.type != "cpu" or t.is_sparse or id(t) in self.moved_state:
                        continue
                    if not t.is_contiguous():
                        continue
                    got = self.arena.take(t.numel(), t.dtype)
                    if got is None:
                        continue  # arena full: the helper keeps reading its last value
                    start, flat = got
                    view = flat.view(t.shape)
                    view.copy_(t)
                    t.set_(view)
                    self.moved_state[id(t)] = 1
                    moved.append(StateMove(i, key, start, t.dtype, list(t.shape)))
        self.state_count = len(state)
        return moved

    def start(self) -> bool:
        """Shares the parameters and state, forks the helper. False (and nothing changed that matters)
        when the fork fails."""
        global _forking
        with torch.no_grad():
            for p in self.flat:
                p.share_memory_()
            grads = [p.grad for p in self.flat]
            if all(g is not None and not g.is_sparse and g.is_contiguous() for g in grads):
                for g in grads:
                    g.share_memory_()  # type: ignore[union-attr]
                self.shared_grads = grads
        self._move_state()
        self.groups_signature = self._groups_signature()
        cmd_r, cmd_w = os.pipe()
        ack_r, ack_w = os.pipe()
        self.monitor.channel.share_across_fork()
        sys.stdout.flush()
        sys.stderr.flush()
        _forking = True
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Python 3.12+: "fork() of a multi-threaded process"
                pid = os.fork()
        except OSError:
            _forking = False
            for fd in (cmd_r, cmd_w, ack_r, ack_w):
                os.close(fd)
            return False
        if pid == 0:  # the helper
            os.close(cmd_w)
            os.close(ack_r)
            Helper(self.monitor, self, cmd_r, ack_w).run()  # never returns
        _forking = False
        os.close(cmd_r)
        os.close(ack_w)
        self.pid, self.cmd_w, self.ack_r = pid, cmd_w, ack_r
        _fork_fds.extend([cmd_w, ack_r])
        self.alive = True
        self.expect = 1  # the helper's first copy of the parameters
        self.trigger: Optional[str] = None
        return True

    def _groups_signature(self) -> Any:
        return [tuple((k, v) for k, v in g.items() if k != "params" and isinstance(v, (int, float, bool, str, tuple)))
                for g in self.monitor.optimizer.param_groups]

    # -- per step (training process) ------------------------------------------------------------------
    @property
    def pending(self) -> bool:
        """Some ack asked for has not been seen yet."""
        return self.expect > _U64.unpack_from(self.ctrl, _ACKED)[0]

    def _slot(self) -> int:
        """Byte offset of the next message's slot, once the helper has consumed the message that used it."""
        ctrl = self.ctrl
        while self.sent - _U64.unpack_from(ctrl, _SEEN)[0] >= RING:
            self._sleep_on_acks(lambda: self.sent - _U64.unpack_from(ctrl, _SEEN)[0] < RING)
        return _RING_AT + (self.sent % RING) * _SLOT

    def _publish(self) -> None:
        self.sent += 1
        ctrl = self.ctrl
        _U64.pack_into(ctrl, _SENT, self.sent)
        if ctrl[_SLEEPING]:
            try:
                os.write(self.cmd_w, _DOORBELL)
            except OSError:
                self.alive = False

    def send(self, record: Record) -> None:
        """A record through the pipe (rare or large ones), announced by a slot."""
        if not self.alive:
            return
        at = self._slot()
        try:
            _write_all(self.cmd_w, _frame(record))
        except OSError:
            self.alive = False
            return
        self.ctrl[at] = K_PIPE  # after the write: a slot seen means its frame is in the pipe
        self._publish()

    def _send_kind(self, kind: int) -> None:
        if not self.alive:
            return
        self.ctrl[self._slot()] = kind
        self._publish()

    def _sleep_on_acks(self, done: Any) -> None:
        """Sleeps until done(); the helper writes a byte to the ack pipe while _WAITING is set. Raises
        ChildProcessError when the helper died."""
        ctrl = self.ctrl
        _U64.pack_into(ctrl, _WAITING, 1)
        try:
            while not done():
                r, _, _ = select.select([self.ack_r], [], [], WAKE_TIMEOUT)
                if r:
                    try:
                        data = os.read(self.ack_r, 256)
                    except InterruptedError:
                        continue
                    if not data:
                        self.alive = False
                        self.expect = 0
                        raise ChildProcessError("the monitoring helper process exited")
        finally:
            _U64.pack_into(ctrl, _WAITING, 0)

    def wait(self) -> Optional[str]:
        """Waits until the helper has read every step sent (so the parameters may change); returns the
        probe trigger it asked for, if any. Raises ChildProcessError when the helper died."""
        trigger, self.trigger = self.trigger, None
        ctrl, unpack, expect = self.ctrl, _U64.unpack_from, self.expect
        if unpack(ctrl, _ACKED)[0] < expect:
            if not self.alive:
                self.expect = 0
                raise ChildProcessError("the monitoring helper process exited")
            if self.ack_spin:
                self._poll_acks(expect)
            else:
                self._sleep_on_acks(lambda: unpack(ctrl, _ACKED)[0] >= self.expect)
        seq = unpack(ctrl, _TRIG_SEQ)[0]
        if seq != self.trig_seen:
            self.trig_seen = seq
            trigger = TRIGGERS[unpack(ctrl, _TRIG_CODE)[0]] or trigger
        return trigger

    def _poll_acks(self, expect: int) -> None:
        """Waits for ack `expect`: polls for up to self.ack_spin ns, then sleeps on the ack pipe. The next
        window is twice this wait when it took at most ACK_SPIN_MAX, else half this one (a helper that
        answers late is not polled for)."""
        ctrl, unpack, clock = self.ctrl, _U64.unpack_from, time.perf_counter_ns
        start = clock()
        end = start + self.ack_spin
        while unpack(ctrl, _ACKED)[0] < expect:
            if clock() >= end:
                self._sleep_on_acks(lambda: unpack(ctrl, _ACKED)[0] >= expect)
                break
        took = clock() - start
        self.ack_spin = max(ACK_SPIN_MIN, min(ACK_SPIN_MAX, 2 * took) if took <= ACK_SPIN_MAX else self.ack_spin // 2)

    def take_trigger(self) -> Optional[str]:
        trigger, self.trigger = self.trigger, None
        return trigger

    def announce_grads(self) -> None:
        """The gradients are the shared ones: the helper reads them now, while the optimizer (which only
        reads them too) updates."""
        self.inplace = True
        self.missing = ()
        self._send_kind(K_GRADS)
        self.expect += 1

    def copy_grads(self) -> None:
        """The gradients the optimizer is about to use, into the arena (one cat per dtype)."""
        flat = self.flat
        shared = self.shared_grads
        if shared and not self.copy_always and all(map(is_, map(_grad_of, flat), shared)):  # C-level loop: ~1.5µs less per step
            self.announce_grads()
            return
        self.inplace = False
        grads = list(map(_grad_of, flat))
        if self.single and not _none_among(grads):
            self.missing = ()
            # zero_grad() without set_to_none keeps the same gradient tensors: reuse their flat views
            # (a view costs ~0.8µs per tensor, the copy itself ~2µs for a mid-size MLP).
            if len(grads) != len(self._grads) or any(map(is_not, grads, self._grads)):
                self._grads = grads
                self._views = [g.view(-1) if g.is_contiguous() else g.reshape(-1) for g in grads]  # type: ignore[union-attr]
                if any(not g.is_contiguous() for g in grads):  # type: ignore[union-attr]
                    self._grads = []  # reshape copied: those views go stale
            torch.cat(self._views, out=self.region)
            return
        self._grads = []
        missing = []
        for i, g in enumerate(grads):
            if g is None:
                missing.append(i)
                continue
            dtype, pos, n = self.grad_slot[i]
            self._regions[dtype][pos : pos + n].copy_(g.detach().to_dense().reshape(-1) if g.is_sparse else g.reshape(-1))
        self.missing = tuple(missing)

    def step(self, loss: Optional[float], first_module: Optional[str], activity: List[ActivitySample], rows: int,
             affordable: bool) -> None:
        m = self.monitor
        self.monitored += 1
        if self.pending:
            # The helper has read the gradients: zero_grad() may clear them now. A probe trigger it
            # asked for is kept for the monitor (take_trigger).
            self.trigger = self.wait()
        moved: List[StateMove] = []
        if len(m.optimizer.state) != self.state_count or self.monitored % 64 == 0:
            moved = self._move_state()
            sig = self._groups_signature()
            if sig != self.groups_signature:
                self.groups_signature = sig
                self.send(GroupsChanged([{k: v for k, v in g.items() if k != "params"} for g in m.optimizer.param_groups]))
        lrs = [g["lr"] for g in m.optimizer.param_groups]
        floats = len(lrs) <= MAX_SLOT_LRS
        for i, x in enumerate(lrs):
            if type(x) is not float:
                if isinstance(x, torch.Tensor):
                    lrs[i] = float(x)
                else:
                    floats = False  # an int lr keeps its type through the pipe (the events print it as given)
        self.expect += 1  # the helper acks the step once it has read it
        if floats and not moved and not activity and first_module is None and not self.missing and self.alive:
            self.publish_step(m.steps, loss, lrs, affordable, m.probes.possible, rows)
            return
        self.send(StepTaken(m.steps, loss, lrs, affordable, m.probes.possible, rows, self.inplace, self.missing, first_module,
                            activity, moved))

    def publish_step(self, step: int, loss: Optional[float], lrs: List[float], affordable: bool, possible: bool, rows: int) -> None:
        """A step message in a slot (at most MAX_SLOT_LRS float learning rates, nothing for the pipe)."""
        padded = list(lrs) + [0.0] * (MAX_SLOT_LRS - len(lrs))
        _STEP.pack_into(self.ctrl, self._slot(), K_STEP, loss is not None, self.inplace, bool(affordable), bool(possible),
                        len(lrs), step, rows, math.nan if loss is None else loss, *padded)
        self._publish()

    def snap(self) -> None:
        self._send_kind(K_SNAP)
        self.expect += 1

    def light(self, step: int, loss: Optional[float], grad_norm: float, lr: float, rows: int) -> None:
        """A light step (cadence.py) in a slot. The helper is not woken for it: it writes light steps when
        the next message that needs it rings (a detailed step, a snapshot), when it wakes on its own
        (WAKE_TIMEOUT), or when half the ring is taken; no ack either, nothing shared is read. So a light
        step costs the training process a few bytes in shared memory, no system call."""
        if not self.alive:
            return
        ctrl = self.ctrl
        _LIGHT.pack_into(ctrl, self._slot(), K_LIGHT, loss is not None, step, rows, math.nan if loss is None else loss,
                         grad_norm, lr)
        self.sent += 1
        _U64.pack_into(ctrl, _SENT, self.sent)
        if self.sent - _U64.unpack_from(ctrl, _SEEN)[0] >= RING // 2 and ctrl[_SLEEPING]:
            try:
                os.write(self.cmd_w, _DOORBELL)
            except OSError:
                self.alive = False

    def finish(self, reason: str, error: Optional[Dict[str, Any]] = None, timeout: float = 60.0) -> None:
        """Ends the helper: it writes its last events (and `end`) and exits; waits for it."""
        self._stop(Finish(reason, error), timeout)

    def hand_back(self) -> Tuple[Optional[str], Optional[Tuple[float, int]]]:
        """The run's layers changed (relayout.py): the helper writes every step it has, without `end`, and
        exits. Returns the probe trigger it gave last (if not taken yet) and the lowest loss it reported
        with its step (the `end` event's bestLoss, now the training process's to keep)."""
        self._stop(HandBack(), 60.0)
        trigger = self.trigger
        seq = _U64.unpack_from(self.ctrl, _TRIG_SEQ)[0]
        if seq != self.trig_seen:
            self.trig_seen = seq
            trigger = TRIGGERS[_U64.unpack_from(self.ctrl, _TRIG_CODE)[0]] or trigger
        loss, step = _BEST_RECORD.unpack_from(self.ctrl, _BEST)
        return trigger or None, (loss, step) if step >= 0 else None

    def _stop(self, record: Record, timeout: float) -> None:
        import time

        if self.pid == 0:
            return
        try:
            self.send(record)
        except ChildProcessError:
            pass  # the helper is gone: nothing more to tell it
        try:
            os.close(self.cmd_w)
        except OSError:
            pass
        deadline = time.monotonic() + timeout
        while True:
            try:
                pid, _ = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                break
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.002)
        try:
            os.close(self.ack_r)
        except OSError:
            pass
        for fd in (self.cmd_w, self.ack_r):
            if fd in _fork_fds:
                _fork_fds.remove(fd)
        self.pid = 0
        self.alive = False


def unpack_light(ctrl: Any, at: int) -> LightStep:
    """The LightStep that Link.light packed into the slot at byte `at`."""
    _, has_loss, step, rows, loss, grad_norm, lr = _LIGHT.unpack_from(ctrl, at)
    return LightStep(step, loss if has_loss else None, grad_norm, lr, rows)


def unpack_step(ctrl: Any, at: int) -> StepTaken:
    """The StepTaken that Link.publish_step packed into the slot at byte `at`."""
    _, has_loss, inplace, affordable, possible, n_lrs, step, rows, loss, *lrs = _STEP.unpack_from(ctrl, at)
    return StepTaken(step, loss if has_loss else None, lrs[:n_lrs], bool(affordable), bool(possible), rows, bool(inplace))


class FastStep:
    """The common offloaded step in as few lines as possible: every step monitored (not governed), no
    closure, the gradients the script keeps in shared memory (zero_grad without set_to_none; a small
    model's, every one present, are copied whatever the script does: Link.copy_always), one param
    group with a float learning rate, a finite loss, and no probe, activity sample, new optimizer state
    or periodic check due. Every other step goes through Monitor.pre_step/post_step, which send the same
    messages (the tests compare the events of both paths with inline monitoring).

    Why: on a mid-size MLP (W2, a ≈ 330 µs step) the general path's pre_step and post_step take the
    training process ≈ 22 µs a step, these two ≈ 11 µs (timed inside the step wrapper)."""

    @staticmethod
    def applies(monitor: Any) -> bool:
        cadence = monitor.cadence
        return not cadence.governed and cadence.every == 1 and cadence.hessian_every == 0 and monitor.closure is None

    def __init__(self, monitor: Any, link: Link) -> None:
        self.m = monitor
        self.link = link
        self.ctrl = link.ctrl
        self.cadence = monitor.cadence
        self.probes = monitor.probes
        self.value = 0.0  # the loss pre() read
        self.stop = StopTraining
        self.recent = naming.recent  # modules created since the layers were last looked at (relayout.py)
        self.lockstep = monitor.lockstep

    def pre(self, loss: Optional[torch.Tensor]) -> bool:
        """Before step(): True when this step takes the short path (its gradients are announced)."""
        m, link, ctrl, cadence = self.m, self.link, self.ctrl, self.cadence
        if (loss is None or m.link is not link or m.ended or not cadence.detail_next or cadence.sampling_activity or self.probes.armed
                or m.nan_module is not None or link.trigger is not None or not link.alive):
            return False
        if m.steps >= m.layout_check_at or (self.recent and relayout.due(m)):
            m.look_at_layout()  # relayout.py: a change hands the run back (the general path measures it)
            if m.link is not link:
                return False
        value = loss.item()
        if not -math.inf < value < math.inf:
            return False  # the general path replays the forward pass to find the first module that went bad
        unpack = _U64.unpack_from
        if unpack(ctrl, _ACKED)[0] < link.expect or unpack(ctrl, _TRIG_SEQ)[0] != link.trig_seen:
            trigger = link.wait()  # the helper has read the last step: the parameters may change now
            if trigger:
                m.arm_probe(trigger)
                return False  # a curvature probe is due: the general path takes this step
        if link.sent - unpack(ctrl, _SEEN)[0] >= RING:
            return False
        if link.copy_always:
            grads = list(map(_grad_of, link.flat))
            if not link.single or any(map(is_, grads, _NONES)):
                return False  # parameters without a gradient: the general path says which
        else:
            shared = link.shared_grads
            if not shared or not all(map(is_, map(_grad_of, link.flat), shared)):
                return False
        self.value = value
        m.watched_loss = (loss, value)  # for post_step, should this step end on the general path
        m.monitoring_this_step = m.detail_this_step = True
        m.closure_step = False
        if link.copy_always and len(grads) == len(link._grads) and not any(map(is_not, grads, link._grads)):
            # Link.copy_grads's common case inline (the same gradient tensors as last step: their flat views).
            link.inplace = False
            link.missing = ()
            torch.cat(link._views, out=link.region)
        else:
            link.copy_grads()  # a small model's into the arena, else announced (read in place during step())
        return True

    def post(self, loss: Optional[torch.Tensor]) -> None:
        """After step(), for a step whose pre() was True: as Monitor.post_step with Link.step."""
        m, link = self.m, self.link
        opt = m.optimizer
        groups = opt.param_groups
        lr = groups[0]["lr"] if len(groups) == 1 else None
        if (type(lr) is not float or len(opt.state) != link.state_count or (link.monitored + 1) % 64 == 0
                or m.link is not link or not link.alive):
            m.post_step(loss)  # moves new optimizer state, sends changed hyper-parameters, ...
            return
        m.watched_loss = None
        m.fast_steps += 1
        steps = m.steps = m.steps + 1
        m.monitored_steps += 1  # Monitor.count_monitored
        lockstep = self.lockstep
        if lockstep.active:
            lockstep.reported(steps)
        link.monitored += 1
        value = self.value
        m.report.last_loss = value
        ctrl, unpack = self.ctrl, _U64.unpack_from
        if unpack(ctrl, _ACKED)[0] < link.expect:  # Link.pending
            link.trigger = link.wait()  # the helper still reads the gradients: zero_grad() must not clear them yet
        activity = m.activity
        link.expect += 1  # the helper acks the step once it has read it
        probes = self.probes
        # Link.publish_step inline, for one float lr and a loss (tests/test_twins.py pins the same bytes).
        sent = link.sent
        at = _RING_AT + (sent % RING) * _SLOT if sent - unpack(ctrl, _SEEN)[0] < RING else link._slot()
        affordable = probes_module.PROBE_BUDGET > 0 and probes.affordable_now(steps)  # (no call when probes are off)
        _STEP.pack_into(ctrl, at, K_STEP, True, link.inplace, bool(affordable), bool(probes.possible), 1, steps,
                        activity.batch_rows if activity is not None else 0, value, lr, 0.0, 0.0)
        link._publish()
        trigger = link.trigger  # Link.take_trigger: a probe the helper asked for at the wait above
        if trigger is not None:
            link.trigger = None
            m.arm_probe(trigger)
        cadence = self.cadence
        if cadence.light or cadence.governed or cadence.every != 1:  # (optiscope.watch may change `every`)
            cadence.decide_next(steps, True, True)  # a small model's next step may be light (cadence.py)
        else:
            cadence.next_monitored = cadence.detail_next = True  # what decide_next decides then (test_twins.py)
        if activity is not None:
            cadence.plan_activity(activity, m.monitored_steps, steps)  # Monitor.plan_activity
        max_steps = cadence.max_steps
        if max_steps is not None and steps >= max_steps:
            raise self.stop()


class Helper:
    """The helper process: reads messages, computes and reports each step, acks."""

    def __init__(self, monitor: Any, link: Link, cmd_r: int, ack_w: int) -> None:
        _BEST_RECORD.pack_into(link.ctrl, _BEST, math.nan, -1)
        self.m = monitor
        self.link = link
        self.fd = cmd_r
        os.set_blocking(cmd_r, False)
        self.buf = bytearray()
        self.seen = 0
        self.ack_w = ack_w
        self.acked = 0
        # The pace of acked messages, for the poll before sleeping (_poll; see HELPER_SPIN_MAX).
        self.spin = _spinning()
        self.acked_at = 0  # perf_counter_ns of the last ack
        self.intervals: "deque[int]" = deque(maxlen=HELPER_SPIN_INTERVALS)
        self.backoff = 0  # acks to go before polling again, after a poll that did not hold its core
        self.cores = _cores()
        self.room = True  # the run queue had no more runnable tasks than cores when last looked at
        self.room_at = 0  # self.acked when it was
        self.polls = self.polled_ns = 0  # polls run and ns spent in them (for the tests)
        self.triggers = 0
        self.eof = False
        flat = link.flat
        # A small model's step is read from private copies (Helper.copy_step): the gradients' regions, the
        # parameters and the optimizer state's bytes, copied in three bulk passes; the ack follows the
        # copies, so the training process waits for a wake-up and a memcpy, not for the statistics.
        self.copying = link.copy_always
        regions = {dtype: r.clone() for dtype, r in link._regions.items()} if self.copying else link._regions
        self.grad_regions = regions
        self.grad_views = [regions[dtype][pos : pos + n].view(p.shape) for p, (dtype, pos, n) in zip(flat, link.grad_slot)]
        self.weights = [torch.empty_like(p) for p in flat] if self.copying else []
        self.state_bytes = torch.empty_like(link.arena.bytes) if self.copying else link.arena.bytes
        self.state_lo, self.state_hi = link.arena.size, 0  # the arena's bytes that hold optimizer state

    def _published(self) -> bool:
        return _U64.unpack_from(self.link.ctrl, _SENT)[0] > self.seen

    def _sleep(self, timeout: Optional[float]) -> None:
        """Sleeps on the pipe (a frame, a doorbell or the end of file wakes it) for at most `timeout`;
        reads what is there into the buffer. Sets self.eof at the end of file."""
        ctrl = self.link.ctrl
        _U64.pack_into(ctrl, _SLEEPING, 1)
        try:
            if self._published():  # the flag is set before this check: a later message rings
                return
            r, _, _ = select.select([self.fd], [], [], timeout)
            if r:
                self._drain()
        finally:
            _U64.pack_into(ctrl, _SLEEPING, 0)

    def _drain(self) -> None:
        try:
            data = os.read(self.fd, 1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        if data:
            self.buf += data
        else:
            self.eof = True

    def _idle(self) -> bool:
        """Waits for the next message: polls for it while the next acked message is about due (_poll),
        then sleeps on the pipe (a doorbell wakes it). False at the end of file with nothing left to read."""
        if self.spin and not self._published() and not self.eof:
            self._poll()
        while not self._published() and not self.eof:
            self._sleep(WAKE_TIMEOUT)
        return self._published()

    def _poll(self) -> None:
        """Polls the message counter until the next acked message is due: the last ack plus 5/4 of the
        longest of the last HELPER_SPIN_INTERVALS intervals between acks. Not at all when that interval
        exceeds HELPER_SPIN_MAX, when the run queue had more runnable tasks than cores when last looked
        at, nor during a backoff; a poll that held its core less than HELPER_SPIN_SHARE of its wall time
        starts one."""
        intervals = self.intervals
        if self.backoff or len(intervals) < HELPER_SPIN_INTERVALS:
            return
        if self.acked - self.room_at >= HELPER_SPIN_LOAD_EVERY or not self.room_at:
            self.room_at = self.acked
            self.room = _runnable_tasks() <= self.cores
        if not self.room:
            return
        longest = max(intervals)
        if longest > HELPER_SPIN_MAX:
            return
        clock = time.perf_counter_ns
        start = clock()
        end = min(self.acked_at + longest * 5 // 4, start + HELPER_SPIN_MAX)
        if start >= end:
            return
        cpu = time.thread_time_ns()
        ctrl, unpack, seen = self.link.ctrl, _U64.unpack_from, self.seen
        now = start
        while unpack(ctrl, _SENT)[0] == seen and now < end:
            now = clock()
        wall = clock() - start
        self.polls += 1
        self.polled_ns += wall
        if wall > HELPER_SPIN_JUDGED and time.thread_time_ns() - cpu < wall * HELPER_SPIN_SHARE:
            self.backoff = HELPER_SPIN_BACKOFF

    def _frame(self) -> Optional[Record]:
        """The next non-empty frame on the pipe (doorbells skipped); None at the end of file."""
        buf = self.buf
        while True:
            while len(buf) >= _HEADER.size:
                (n,) = _HEADER.unpack_from(buf)
                if n == 0:
                    del buf[: _HEADER.size]
                    continue
                if len(buf) < _HEADER.size + n:
                    break
                record: Record = pickle.loads(bytes(buf[_HEADER.size : _HEADER.size + n]))
                del buf[: _HEADER.size + n]
                return record
            if self.eof:
                return None
            select.select([self.fd], [], [])
            self._drain()

    def _recv(self) -> Optional[Record]:
        if not self._idle():
            return None  # the training process is gone: every message it published has been read
        ctrl = self.link.ctrl
        at = _RING_AT + (self.seen % RING) * _SLOT
        kind = ctrl[at]
        record: Optional[Record]
        if kind == K_PIPE:
            record = self._frame()
            if record is None:
                return None
        elif kind == K_GRADS:
            record = _GRADS_READY
        elif kind == K_SNAP:
            record = _SNAPSHOT
        elif kind == K_LIGHT:
            record = unpack_light(ctrl, at)
        else:
            record = unpack_step(ctrl, at)
        self.seen += 1
        _U64.pack_into(ctrl, _SEEN, self.seen)
        return record

    def _ack(self) -> None:
        ctrl = self.link.ctrl
        self.acked += 1
        if self.spin:
            now = time.perf_counter_ns()
            if self.acked_at:
                self.intervals.append(now - self.acked_at)
            self.acked_at = now
            if self.backoff:
                self.backoff -= 1
        _U64.pack_into(ctrl, _ACKED, self.acked)
        if ctrl[_WAITING] and self.ack_w >= 0:
            try:
                os.write(self.ack_w, b"\0")
            except OSError:
                # The training process is gone (killed, os._exit): no one waits for acks any more, but
                # every step it published is still to be reported.
                self.ack_w = -1

    def _give_trigger(self, trigger: str) -> None:
        """A curvature probe the detectors ask for: the training process reads it at its next wait."""
        ctrl = self.link.ctrl
        self.triggers += 1
        _U64.pack_into(ctrl, _TRIG_CODE, TRIGGERS.index(trigger) if trigger in TRIGGERS else 0)
        _U64.pack_into(ctrl, _TRIG_SEQ, self.triggers)

    def _apply_state(self, moved: List[StateMove]) -> None:
        state = self.m.optimizer.state
        for move in moved:
            p = self.link.flat[move.param]
            numel = 1
            for s in move.shape:
                numel *= s
            state.setdefault(p, {})[move.key] = self._state_view(move.offset, numel, move.dtype, move.shape)

    def _state_view(self, offset: int, numel: int, dtype: torch.dtype, shape: Sequence[int]) -> torch.Tensor:
        """An optimizer state tensor at `offset` of the arena: the private copy's bytes when copying."""
        if not self.copying:
            return self.link.arena.view(offset, numel, dtype, shape)
        size = max(numel, 1) * torch.empty((), dtype=dtype).element_size()
        self.state_lo, self.state_hi = min(self.state_lo, offset), max(self.state_hi, offset + size)
        return self.state_bytes[offset : offset + size].view(dtype)[:numel].view(tuple(shape))

    def _private_state(self) -> None:
        """At the start, when copying: the optimizer state the helper inherited (in the shared arena) read
        from the private copy instead."""
        base = self.link.arena.bytes.data_ptr()
        end = base + self.link.arena.size
        for st in self.m.optimizer.state.values():
            for key, t in list(st.items()):
                if isinstance(t, torch.Tensor) and base <= t.data_ptr() < end:
                    st[key] = self._state_view(t.data_ptr() - base, t.numel(), t.dtype, t.shape)

    def copy_step(self) -> None:
        """The step's gradients, parameters and optimizer state, into the private copies."""
        with torch.no_grad():
            for dtype, region in self.link._regions.items():
                self.grad_regions[dtype].copy_(region)
            for w, p in zip(self.weights, self.link.flat):
                w.copy_(p)
            lo, hi = self.state_lo, self.state_hi
            if lo < hi:
                self.state_bytes[lo:hi].copy_(self.link.arena.bytes[lo:hi])

    def _read_step(self, record: StepTaken) -> StepStats:
        """The statistics of one step the training process sent: everything that reads the shared
        parameters and state (the training process waits for this part only)."""
        m = self.m
        for group, lr in zip(m.optimizer.param_groups, record.lrs):
            group["lr"] = lr
        m.steps = record.step
        m.monitored_steps += 1
        if record.possible != m.probes.possible:  # (no call on the steps where it stays)
            m.probes.set_possible(record.possible)
        stats = m.stats
        assert stats is not None
        missing = record.missing
        if not record.inplace:  # the gradients were copied into the arena (their norms are taken from there)
            stats.clear_grad_norms()
            for i, (p, g) in enumerate(zip(stats.flat, self.grad_views)):
                p.grad = None if missing and i in missing else g
        s = stats.after(None, host_activity=record.activity, weights=self.weights if self.copying else None)
        s.loss = record.loss if record.loss is not None else math.nan
        s.first_nonfinite_module = record.first_nonfinite_module
        if record.activity and m.activity is not None:
            m.activity.batch_rows = record.rows
        return s

    def _report_step(self, s: StepStats, record: StepTaken) -> Optional[str]:
        """The step event; returns the probe trigger, if any."""
        trigger = self.m.report_step(s, record.loss is not None, record.affordable)
        return trigger if self.m.closure is None else None

    def run(self) -> None:
        code = 0
        try:
            for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGUSR1", None)):
                if sig is not None:
                    signal.signal(sig, signal.SIG_IGN)  # the training process decides when the run ends
            _helper_threads()
            m = self.m
            m.link = None
            m.in_helper = True
            if self.copying:
                self._private_state()
            m.stats.snapshot()
            self._ack()
            while True:
                record = self._recv()
                if record is None:  # the training process is gone: every step it sent has been reported
                    break
                if isinstance(record, GradsReady):
                    for p, g in zip(self.link.flat, self.link.shared_grads):
                        p.grad = g
                    m.stats.grad_norms()
                    self._ack()
                elif isinstance(record, StepTaken) and self.copying:
                    self._apply_state(record.moved)
                    self.copy_step()
                    tiny = m.n_parameters <= 2  # its step event carries the parameters, read live
                    if not tiny:
                        self._ack()  # the training process may go on: the rest reads the private copies
                    stats = self._read_step(record)
                    self.weights = m.stats.keep_as_before(self.weights)
                    if tiny:
                        self._ack()
                    trigger = self._report_step(stats, record)
                    if trigger and trigger != "scheduled":
                        self._give_trigger(trigger)
                elif isinstance(record, StepTaken):
                    self._apply_state(record.moved)
                    stats = self._read_step(record)
                    m.stats.snapshot()
                    self._ack()  # the parameters may change now; the report below runs meanwhile
                    trigger = self._report_step(stats, record)
                    if trigger and trigger != "scheduled":  # the training process arms those itself
                        self._give_trigger(trigger)
                elif isinstance(record, LightStep):
                    m.steps = record.step
                    m.report.light_step(record.step, record.loss, record.lr, record.grad_norm, record.rows)
                elif isinstance(record, Snapshot):
                    m.stats.snapshot()
                    self._ack()
                elif isinstance(record, ProbeResult):
                    m.publish_probe(record)
                elif isinstance(record, ProbeUnavailable):
                    m.probe_unavailable()
                elif isinstance(record, Unsupported):
                    m.emit(record.event)
                elif isinstance(record, GroupsChanged):
                    for group, values in zip(m.optimizer.param_groups, record.groups):
                        group.update(values)
                elif isinstance(record, Finish):
                    if record.error is not None:
                        m.emit(record.error)
                    m.end(record.reason)
                    break
                elif isinstance(record, HandBack):
                    best = m.report.best
                    if best is not None:
                        _BEST_RECORD.pack_into(self.link.ctrl, _BEST, best[0], best[1])
                    break
        except BaseException as e:  # noqa: BLE001 - report, never hang the training process
            code = 1
            try:
                m.fail(e)
            except BaseException:  # noqa: BLE001
                pass
        finally:
            try:
                m.channel.flush()
            except BaseException:  # noqa: BLE001
                pass
            os._exit(code)
