"""When a small model's run waits for the Node side's verdicts (lock-step with the judge, control.py).

The judge (src/engine/monitors/judge.ts) reads each `step` event and may ask for a curvature probe. A
small model's run waits for the verdict on the last monitored step up to N before it backpropagates
step N + 2, so a probe the judge asks for lands at the same step on every run of the same script
(deterministic streams). Large models never wait: their probes land when the request arrives."""
import sys
import threading
from collections import deque
from typing import Callable, Optional, Tuple

from .control import Judged

# Seconds a small model's run waits for the Node side's verdict on a step before it stops waiting for good
# (the Node side is gone or stuck; the run then goes on, its probes no longer at fixed steps).
JUDGE_TIMEOUT = 10.0


class LockStep:
    """The monitored steps not yet awaited, and the last step the judge has read. `active`: this run
    waits for verdicts (set at the run's start; cleared when the control channel closes or a verdict
    times out)."""

    def __init__(self) -> None:
        self.active = False
        self._reported: "deque[int]" = deque()
        self._judged = -1
        self._judged_cond = threading.Condition()
        self._asked: Optional[Tuple[int, str]] = None  # (step judged, probe trigger) not yet armed

    def reported(self, step: int) -> None:
        """A monitored step's event went to the judge (inline, or by the helper process)."""
        if self.active:
            self._reported.append(step)

    def on_judged(self, record: Judged, request_probe: Callable[[str], None]) -> None:
        """From the control reader thread: the judge has read `record.step` (and may want a probe)."""
        with self._judged_cond:
            if record.probe:
                if self.active:
                    self._asked = (record.step, record.probe)  # armed by await_judged, at a fixed step
                else:
                    request_probe(record.probe)
            self._judged = max(self._judged, record.step)
            self._judged_cond.notify_all()

    def on_control_closed(self) -> None:
        with self._judged_cond:
            self.active = False
            self._judged_cond.notify_all()

    def await_judged(self, steps: int, run: str, request_probe: Callable[[str], None]) -> None:
        """Before backpropagating step N + 2 (the parameters after N + 1 updates, `steps` = N + 1): wait for
        the verdict on the last monitored step up to N, so a probe the judge asked for lands at the same step
        every run."""
        if not self.active:
            return
        limit = steps - 1
        target = -1
        while self._reported and self._reported[0] <= limit:
            target = self._reported.popleft()
        if target < 0:
            return
        with self._judged_cond:
            if not self._judged_cond.wait_for(lambda: self._judged >= target or not self.active, timeout=JUDGE_TIMEOUT):
                self.active = False
                sys.stderr.write(f"optiscope: no verdict on step {target} of {run} within {JUDGE_TIMEOUT:g} s; "
                                 "training goes on without waiting for them.\n")
            asked = self._asked
            if asked is not None and (asked[0] <= target or not self.active):
                self._asked = None
            else:
                asked = None  # a verdict that came early waits for its own step
        if asked is not None:
            request_probe(asked[1])
