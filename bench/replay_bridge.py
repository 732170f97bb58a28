"""A stand-in for the PyTorch bridge's process that replays a recorded stream, for timing the Node side alone.

Launched by `optiscope run` in place of `python -m optiscope.run` (bench/bridge-events.ts passes a
wrapper as `--python`; the arguments are ignored). It writes the events of BENCH_REPLAY (an NDJSON stream,
its warnings left out: the judge decides them again) to the event pipe (OPTISCOPE_EVENT_FD) and keeps
lock-step as a small model's training process does (python/optiscope/lockstep.py): after sending step k
it waits for the Node side's verdict on the step before, then "trains" for BENCH_REPLAY_STEP_US
microseconds (a spin) before sending the next. Each event rings the launcher's doorbell
(OPTISCOPE_WAKE_FD), as a detailed step does (python/optiscope/channel.py): the Node side is woken once
per step event, and its CPU time per event can be read without torch's noise. A light step (no per-layer
statistics: `"layers":[]`) is written as the bridge writes one, without ringing and without waiting for a
verdict (python/optiscope/report.py, lockstep.py): it is read with the next event that rings.
"""
import json
import os
import select
import sys
import time

EVENT_FD = int(os.environ["OPTISCOPE_EVENT_FD"])
CONTROL_FD = int(os.environ["OPTISCOPE_CONTROL_FD"])
WAKE_FD = int(os.environ.get("OPTISCOPE_WAKE_FD") or -1)
STEP_S = float(os.environ.get("BENCH_REPLAY_STEP_US", "500")) / 1e6
TIMEOUT_S = 10.0

judged = -1
pending = b""


def read_verdicts(until: int) -> None:
    """Reads the control channel until the judge has answered step `until` (or it is silent for 10 s)."""
    global judged, pending
    while judged < until:
        ready, _, _ = select.select([CONTROL_FD], [], [], TIMEOUT_S)
        if not ready:
            sys.exit(f"replay: no verdict on step {until} within {TIMEOUT_S:g} s")
        data = os.read(CONTROL_FD, 1 << 16)
        if not data:
            return
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            judged = max(judged, json.loads(line)["step"])


def send(line: str, quiet: bool = False) -> None:
    data = (line + "\n").encode()
    while data:
        data = data[os.write(EVENT_FD, data):]
    if WAKE_FD >= 0 and not quiet:
        os.write(WAKE_FD, b"\0")


def train() -> None:
    # perf_counter is read in user space (process_time is a system call per read).
    end = time.perf_counter() + STEP_S
    while time.perf_counter() < end:
        pass


def main() -> None:
    previous = -1
    with open(os.environ["BENCH_REPLAY"], encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or '"type":"warning"' in line:
                continue
            event = json.loads(line) if '"type":"step"' in line[:20] else None
            if event is not None and not event["layers"]:
                send(line, quiet=True)
                train()
                continue
            send(line)
            if event is None:
                continue
            if previous >= 0:
                read_verdicts(previous)
            previous = event["step"]
            train()
    read_verdicts(previous)


main()
