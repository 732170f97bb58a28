"""The control channel: records the Node side sends to this process (src/engine/bridge/control.ts), one
JSON object per line on the file descriptor OPTISCOPE_CONTROL_FD. A run in lock-step reads them itself
while it waits for a verdict (poll_until); once a run that does not wait registers, a daemon thread reads
them instead. Each is checked against the schema below (a record that does not match is ignored, with one
line on stderr) and handed to the monitor of its run.

Today one record, `judged`: the Node side's judge has read the `step` event of `step` (and every one
before), and may want a curvature probe. One is written per run for each batch of events the Node side
reads (the last step in it), and one at once for each probe it wants: a small model's monitor
waits (Monitor.await_judged) for the verdicts up to JUDGE_LAG steps back, so a probe lands at the same
step on every run of the same script."""
import json
import os
import select
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Protocol

CONTROL_VERSION = 1
PROBE_TRIGGERS = ("small-gradient", "stall")


@dataclass(frozen=True)
class Judged:
    """The judge has read step `step` of `run`; `probe`: the curvature probe it wants, if any."""

    run: str
    step: int
    probe: Optional[str] = None


class Listener(Protocol):
    run: str

    def on_judged(self, record: Judged) -> None: ...

    def on_control_closed(self) -> None: ...


def parse(line: str) -> Optional[Judged]:
    """A validated record, or None. The same rules as control.ts's judgedSchema (strict keys)."""
    try:
        raw: Any = json.loads(line)
    except ValueError:
        return None
    if not isinstance(raw, dict) or not {"type", "v", "run", "step"} <= set(raw) <= {"type", "v", "run", "step", "probe"}:
        return None
    if raw["type"] != "judged" or raw["v"] != CONTROL_VERSION:
        return None
    run, step, probe = raw["run"], raw["step"], raw.get("probe")
    if not isinstance(run, str) or not 1 <= len(run) <= 200:
        return None
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        return None
    if "probe" in raw and probe not in PROBE_TRIGGERS:
        return None
    return Judged(run, step, probe)


_listeners: Dict[str, Listener] = {}
_lock = threading.Lock()
_reader: Optional[threading.Thread] = None
_closed = False
# Until a run that does not wait for its verdicts registers, nobody reads the channel in the background:
# a run in lock-step reads it itself when it waits (poll_until). A reader thread woken for every verdict
# cost the training process ~50 µs of CPU a step on a 2-core VM (its wake-up, then the GIL's hand-over
# back and forth with the training loop), a tenth of a W2 step; the verdict the run waits for is
# usually in the pipe already when it looks, and then costs two system calls without a wake-up.
_poll_lock = threading.Lock()
_pending = bytearray()  # the start of a line not read to its end yet
_warned = False


def available(env: Optional[Dict[str, str]] = None) -> bool:
    """Did Optiscope's launcher give this process a control channel (and is it still open)?"""
    env = dict(os.environ) if env is None else env
    return bool(env.get("OPTISCOPE_CONTROL_FD")) and not _closed


def register(listener: Listener, waits: bool = False) -> None:
    """A run that hears its judgements. `waits`: it waits for each verdict (lock-step) and reads the channel
    itself meanwhile (poll_until); any other run starts the reader thread (when there is a channel)."""
    with _lock:
        _listeners[listener.run] = listener
    if not waits:
        start_reader()


def unregister(listener: Listener) -> None:
    with _lock:
        if _listeners.get(listener.run) is listener:
            del _listeners[listener.run]


def dispatch(record: Judged) -> bool:
    with _lock:
        listener = _listeners.get(record.run)
    if listener is None:
        return False  # a run that has ended (a late record is fine)
    listener.on_judged(record)
    return True


def _fd() -> Optional[int]:
    try:
        return int(os.environ.get("OPTISCOPE_CONTROL_FD", ""))
    except ValueError:
        return None


def start_reader() -> None:
    """Reads the channel in a background thread from now on (records arrive whether or not a run waits)."""
    global _reader
    fd = _fd()
    if fd is None:
        return
    with _poll_lock:  # after a poll in progress; no poll reads once the thread exists
        if _reader is not None or _closed:
            return
        _reader = threading.Thread(target=_read, args=(fd,), name="optiscope-control", daemon=True)
        _reader.start()


def _feed(data: bytes) -> None:
    """Dispatches every complete line of what was read (the rest waits for the next read)."""
    global _warned
    _pending.extend(data)
    end = _pending.rfind(b"\n")
    if end < 0:
        return
    lines = bytes(_pending[:end]).decode("utf-8", "replace").split("\n")
    del _pending[: end + 1]
    # A record without a probe says the judge has read up to its step: of a run's consecutive ones only
    # the last matters (a run that does not wait drains ~64 at once; a lock, a notify and a call each).
    latest: Dict[str, Judged] = {}
    for line in lines:
        record = parse(line)
        if record is None:
            if not _warned:
                sys.stderr.write(f"optiscope: ignored an invalid control record ({line.strip()[:120]})\n")
                _warned = True
            continue
        if record.probe is None:
            if record.step >= getattr(latest.get(record.run), "step", -1):
                latest[record.run] = record
            continue
        earlier = latest.pop(record.run, None)
        if earlier is not None:
            dispatch(earlier)
        dispatch(record)
    for record in latest.values():
        dispatch(record)


def _read_some(fd: int, timeout: Optional[float]) -> bool:
    """Waits up to `timeout` (None: forever) for the channel, then dispatches what it holds. False at
    the end of file (or when the descriptor is gone)."""
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return True
        data = os.read(fd, 1 << 16)
    except InterruptedError:
        return True
    except (OSError, ValueError):
        return False
    if not data:
        return False
    _feed(data)
    return True


def poll_until(done: Callable[[], bool], timeout: float, before_sleep: Optional[Callable[[], None]] = None) -> Optional[bool]:
    """For a run in lock-step, in the thread that trains: reads and dispatches what the Node side sent
    until done() holds, at most `timeout` seconds; calls before_sleep() once before it first sleeps.
    Returns done(), or None when the reader thread reads the channel (the caller waits for its records
    another way) or there is none."""
    fd = _fd()
    if fd is None:
        return None
    deadline = time.monotonic() + timeout
    with _poll_lock:
        if _reader is not None:
            return None
        if _closed:
            return done()
        if not _read_some(fd, 0):  # what arrived already, without sleeping
            _close()
            return done()
        while not done():
            if before_sleep is not None:
                before_sleep()
                before_sleep = None
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if not _read_some(fd, left):
                _close()
                break
        return done()


def _close() -> None:
    global _closed
    _closed = True
    with _lock:
        listeners = list(_listeners.values())
    for listener in listeners:
        listener.on_control_closed()


def _read(fd: int) -> None:
    while _read_some(fd, None):
        pass
    _close()  # the Node side went away: nobody waits for it any more
