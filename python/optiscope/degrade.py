"""Degrade one feature, never the run: when a measurement fails on a module (an operation without a
second derivative, a sparse gradient, a custom autograd Function), that measurement is switched off
for that module (or for the run, when it cannot be narrowed down) and the run goes on monitored.

Each switch is said once, as an `unsupported` fact (what, where, why, and what is measured instead);
the Node side turns it into one `info` event of topic `monitoring-limited` (src/engine/monitors/limits.ts),
a note on the run, not a warning."""
from typing import Any, Optional

from .records import Unsupported

# What a switched-off feature falls back to: the rest of the model, or nothing.
REST = "rest"
NONE = "none"


def switch_off(monitor: Any, feature: str, reason: str, layer: Optional[str] = None,
               parameters: Optional[int] = None, fallback: str = NONE, quantity: Optional[str] = None) -> None:
    """Reports, once per (feature, quantity, layer), that `feature` (or only its `quantity`, in words: "effective
    learning rate") is off for `layer` (None: the whole run)."""
    done = monitor.__dict__.setdefault("_switched_off", set())
    key = (feature, quantity, layer)
    if key in done:
        return
    done.add(key)
    fact: dict = {"kind": "unsupported", "feature": feature, "reason": reason[:300], "fallback": fallback}
    if layer is not None:
        fact["layer"] = layer
    if parameters is not None:
        fact["parameters"] = int(parameters)
    if quantity is not None:
        fact["quantity"] = quantity[:80]
    event = {"type": "fact", "step": monitor.steps, "fact": fact}
    link = getattr(monitor, "link", None)
    if link is not None:
        link.send(Unsupported(event))  # the helper writes the stream: the fact keeps its place among the steps
    else:
        monitor.emit(event)
