"""When a run waits for the Node side's verdicts (lock-step with the judge, control.py).

The judge (src/engine/monitors/judge.ts) reads each `step` event, answers it, and may ask for a curvature
probe (src/engine/monitors/stream-judge.ts). A small model's run waits, before it backpropagates at the
parameters after N updates, for the verdicts up to the last reported step at or before N - JUDGE_LAG, and
arms a probe asked for up to there: a probe the judge asks for lands at the same step on every run of the
same script (deterministic streams), while the helper and the judge have a step and a forward pass to answer
(a wait rarely blocks). Large
models wait the same way, but only the steps they monitor are reported (the governor's sampled steps,
chosen by counted work, cadence.py): they wait once after each sampled step, and their probes too land at
the same steps on a busy machine as on an idle one."""
import sys
import threading
from collections import deque
from typing import Callable, Optional, Tuple

from . import control
from .control import Judged

# Seconds a small model's run waits for the Node side's verdict on a step before it stops waiting for good
# (the Node side is gone or stuck; the run then goes on, its probes no longer at fixed steps).
JUDGE_TIMEOUT = 10.0
# Two steps apart: a probe lands two steps after the one that asked (see stream-judge.ts's `judged`). One
# step apart left the helper's statistics and the Node side's judging the length of a forward pass, and a
# small model's run read the control channel at every step; two halve the reads and the blocking waits
# (docs/pytorch.md, Curvature).
JUDGE_LAG = 2
# A run that cannot take a probe reads the verdicts without waiting, every this many awaited steps: about
# 3 kB of `judged` records, far below a pipe's 64 kB.
DRAIN_EVERY = 64


class LockStep:
    """The reported steps not yet awaited, and the last step the judge has read. `active`: this run
    waits for verdicts (set at the run's start; cleared when the control channel closes or a verdict
    times out). Read freely; changed only by set_active, which tells `on_change` (the monitor derives
    whether it waits for verdicts from it: Monitor.derive_waits)."""

    def __init__(self, on_change: Optional[Callable[[], None]] = None) -> None:
        self.active = False
        self.on_change = on_change
        # The reported steps not yet awaited (hooks.py calls await_judged only while there is one: with
        # none it has nothing to wait for, and a small model's light steps report none).
        self.unawaited: "deque[int]" = deque()
        self._judged = -1
        self._judged_cond = threading.Condition()
        self._asked: "deque[Tuple[int, str]]" = deque()  # (step judged, probe trigger) not yet armed
        self._skipped = 0  # waits skipped (await_judged with probes=False)

    def set_active(self, active: bool) -> None:
        self.active = active
        if self.on_change is not None:
            self.on_change()

    def reported(self, step: int) -> None:
        """A monitored step's event went to the judge (inline, or by the helper process)."""
        if self.active:
            self.unawaited.append(step)

    def on_judged(self, record: Judged, request_probe: Callable[[str], None]) -> None:
        """From the control reader thread: the judge has read `record.step` (and may want a probe)."""
        with self._judged_cond:
            if record.probe:
                if self.active:
                    self._asked.append((record.step, record.probe))  # armed by await_judged, at a fixed step
                else:
                    request_probe(record.probe)
            self._judged = max(self._judged, record.step)
            self._judged_cond.notify_all()

    def on_control_closed(self) -> None:
        with self._judged_cond:
            self.set_active(False)
            self._judged_cond.notify_all()

    def await_judged(self, steps: int, run: str, request_probe: Callable[[str], None], lag: int = JUDGE_LAG,
                     wake: Optional[Callable[[], None]] = None, probes: bool = True) -> None:
        """Before backpropagating at the parameters after `steps` updates: wait for the verdicts up to the
        last reported step at or before steps - lag, then arm a probe asked for up to there. `lag`: JUDGE_LAG,
        or the spacing of a small model's detailed steps past its warm-up (cadence.py's light steps: only the
        detailed ones are reported here, each awaited when the next one is due, so the helper and the judge
        have the steps between them to answer instead of one). `wake`: rings the Node side's doorbell before
        waiting (channel.py: every awaited step's event rings already; this is for one that did not).
        `probes`: False when this run would decline any probe the judge asks for (OPTISCOPE_PROBE_BUDGET=0,
        a graph without second derivatives): then nothing can land, early or late, and the run does not
        wait; it reads the verdicts every DRAIN_EVERY steps without blocking, so the channel never fills."""
        if not self.active:
            return
        limit = steps - lag
        target = -1
        while self.unawaited and self.unawaited[0] <= limit:
            target = self.unawaited.popleft()
        if target < 0:
            return
        if not probes:
            self._skipped += 1
            if self._skipped % DRAIN_EVERY == 0:
                control.poll_until(lambda: True, 0.0)
                with self._judged_cond:
                    self._asked.clear()  # declined anyway (request_probe): nothing to arm
            return
        asked: Optional[Tuple[int, str]] = None
        answered = lambda: self._judged >= target or not self.active  # noqa: E731
        # The records are read here, in the training thread, unless a reader thread reads them (control.py).
        polled = None if self._judged >= target else control.poll_until(answered, JUDGE_TIMEOUT, wake)
        with self._judged_cond:
            if polled is None and self._judged < target:
                if wake is not None:
                    wake()
                polled = self._judged_cond.wait_for(answered, timeout=JUDGE_TIMEOUT)
            if polled is False:
                self.set_active(False)
                sys.stderr.write(f"optiscope: no verdict on step {target} of {run} within {JUDGE_TIMEOUT:g} s; "
                                 "training goes on without waiting for them.\n")
            # A verdict that came early waits for its own step; the judge has at most one probe pending.
            while self._asked and (self._asked[0][0] <= target or not self.active):
                asked = asked or self._asked[0]
                self._asked.popleft()
        if polled is False:
            control.start_reader()  # a late verdict's probe request still arrives, whenever it comes
        if asked is not None:
            request_probe(asked[1])
