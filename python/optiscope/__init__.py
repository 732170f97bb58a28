"""Optiscope's PyTorch bridge: watch a torch.optim optimizer and stream what it is doing.

Zero-code: `optiscope run train.py` (or `python -m optiscope.run train.py`) runs a script unmodified.
Explicit: `optiscope.watch(model, optimizer, every=1, closure=...)` in your own script.
"""
import atexit
from typing import Callable, Optional

__version__ = "0.1.0"
__all__ = ["watch", "Watch", "__version__"]


class Watch:
    """Handle returned by `watch`: `close()` ends the run (also done at interpreter exit)."""

    def __init__(self, monitor: object) -> None:
        self.monitor = monitor

    @property
    def run(self) -> str:
        return self.monitor.run  # type: ignore[attr-defined, no-any-return]

    def probe(self) -> None:
        """Measure the curvature now (needs a closure)."""
        if self.monitor.closure is not None:  # type: ignore[attr-defined]
            self.monitor.trigger = "request"  # type: ignore[attr-defined]
            self.monitor.probe_with_closure()  # type: ignore[attr-defined]

    def close(self, reason: str = "completed") -> None:
        self.monitor.end(reason)  # type: ignore[attr-defined]
        if getattr(self.monitor, "owns_channel", False):
            self.monitor.channel.close()  # type: ignore[attr-defined]


def watch(model: "object", optimizer: "object", every: Optional[int] = None, closure: Optional[Callable[[], "object"]] = None,
          log: Optional[str] = None, hessian_every: int = 0, max_steps: Optional[int] = None) -> Watch:
    """Monitor `optimizer` (training `model`) from now on.

    every: monitor one step in `every` (1 = all, exactly). By default every step is monitored while that
    costs at most 3% of the training time (OPTISCOPE_OVERHEAD), and steps are sampled beyond. closure: a function returning the loss on a fixed
    batch *without* calling backward; it lets the curvature probe measure the Hessian (saddle points,
    sharpness). log: write events to this NDJSON file (default: the channel Optiscope's launcher set up,
    else nowhere). hessian_every: also probe every N steps.
    """
    import torch

    from . import hooks
    from .channel import Channel, open_channel
    from .monitor import Monitor
    from .source import caller_location

    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError("optiscope.watch: optimizer must be a torch.optim.Optimizer")
    existing = getattr(optimizer, "_optiscope", None)
    if existing is not None:  # zero-code mode already watches it: adopt the explicit options
        if every:
            existing.every, existing.governed = max(1, int(every)), False
        existing.closure = closure
        existing.hessian_every = hessian_every
        if isinstance(model, torch.nn.Module):
            existing.models = [model]
        return Watch(existing)
    if log:
        f = open(log, "ab", buffering=0)
        channel = Channel(f.write, f.close)
    else:
        channel = open_channel()
    models = [model] if isinstance(model, torch.nn.Module) else []
    m = Monitor(optimizer, channel, caller_location(2), every=every, models=models, closure=closure,
                max_steps=max_steps, hessian_every=hessian_every)
    m.owns_channel = bool(log)  # type: ignore[attr-defined]
    optimizer._optiscope = m  # type: ignore[attr-defined]
    hooks.monitors.append(m)
    hooks.install_loss_hook()
    hooks.attach_step(optimizer, m)
    atexit.register(m.end, "completed")
    return Watch(m)
