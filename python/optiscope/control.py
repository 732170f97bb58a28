"""The control channel: records the Node side sends to this process (src/engine/bridge/control.ts), one
JSON object per line on the file descriptor OPTISCOPE_CONTROL_FD. A daemon thread reads them, checks each
against the schema below (a record that does not match is ignored, with one line on stderr) and hands it
to the monitor of its run.

Today one record, `judged`: the Node side's judge has read the `step` event of `step` (and every one
before), and may want a curvature probe. It is written for every JUDGED_EVERY-th step event of a run and
for each step that asks for a probe, not for every step: a small model's monitor waits (Monitor.await_judged)
for the verdicts up to JUDGE_LAG steps back, so a probe lands at the same step on every run of the same
script without a round trip per step."""
import json
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any, Dict, Optional, Protocol

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


def available(env: Optional[Dict[str, str]] = None) -> bool:
    """Did Optiscope's launcher give this process a control channel (and is it still open)?"""
    env = dict(os.environ) if env is None else env
    return bool(env.get("OPTISCOPE_CONTROL_FD")) and not _closed


def register(listener: Listener) -> None:
    """A run that hears its judgements; starts the reader on the first one (when there is a channel)."""
    with _lock:
        _listeners[listener.run] = listener
    _start_reader()


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


def _start_reader() -> None:
    global _reader
    fd_text = os.environ.get("OPTISCOPE_CONTROL_FD")
    if _reader is not None or not fd_text:
        return
    try:
        stream = os.fdopen(int(fd_text), "r", encoding="utf-8", closefd=False)
    except (OSError, ValueError):
        _close()
        return  # the descriptor is gone: nobody will answer
    _reader = threading.Thread(target=_read, args=(stream,), name="optiscope-control", daemon=True)
    _reader.start()


def _close() -> None:
    global _closed
    _closed = True
    with _lock:
        listeners = list(_listeners.values())
    for listener in listeners:
        listener.on_control_closed()


def _read(stream: Any) -> None:
    warned = False
    try:
        for line in stream:
            record = parse(line)
            if record is None:
                if not warned:
                    sys.stderr.write(f"optiscope: ignored an invalid control record ({line.strip()[:120]})\n")
                    warned = True
                continue
            dispatch(record)
    except (OSError, ValueError):
        pass
    _close()  # the Node side went away: nobody waits for it any more
