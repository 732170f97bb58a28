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
            self.monitor.probes.trigger = "request"  # type: ignore[attr-defined]
            self.monitor.probe_with_closure()  # type: ignore[attr-defined]

    def close(self, reason: str = "completed") -> None:
        self.monitor.end(reason)  # type: ignore[attr-defined]
        if getattr(self.monitor, "owns_channel", False):
            self.monitor.channel.close()  # type: ignore[attr-defined]


def watch(model: "object", optimizer: "object", every: Optional[int] = None, closure: Optional[Callable[[], "object"]] = None,
          log: Optional[str] = None, hessian_every: int = 0, max_steps: Optional[int] = None,
          connect: Optional[str] = None, token: Optional[str] = None) -> Watch:
    """Monitor `optimizer` (training `model`) from now on.

    every: monitor one step in `every` (1 = all, with per-layer statistics, exactly). By default a model
    under 100,000 parameters reports every step, with per-layer statistics on its first 500 steps and on
    one in 10 after (the others carry the loss, gradient norm and lr); a larger one every step while that
    costs at most 3% of the training work, counted, not timed (OPTISCOPE_OVERHEAD), and steps are sampled beyond. closure: a function returning the loss on a fixed
    batch *without* calling backward; it lets the curvature probe measure the Hessian (saddle points,
    sharpness). log: write events to this NDJSON file (default: the channel Optiscope's launcher set up,
    else nowhere). hessian_every: also probe every N steps. connect, token: stream to the Optiscope window
    at "host:port" with its token (a remote machine through `ssh -R`); by default a terminal opened in VS
    Code knows where, and a notebook finds `.optiscope/attach.json` above its working directory. With
    nobody listening, one line goes to stderr and training goes on.
    """
    import torch

    from . import facts, hooks, relayout
    from .channel import Channel, channel_is_own, open_channel
    from .monitor import Monitor
    from .source import caller_location

    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError("optiscope.watch: optimizer must be a torch.optim.Optimizer")
    existing = getattr(optimizer, "_optiscope", None)
    if existing is not None:  # zero-code mode already watches it: adopt the explicit options
        if every:
            existing.cadence.every, existing.cadence.governed = max(1, int(every)), False
        existing.closure = closure
        existing.cadence.hessian_every = hessian_every
        if isinstance(model, torch.nn.Module):
            existing.models = [model]
        return Watch(existing)
    where = caller_location(2)
    _end_earlier_watch(where)
    _quiet_stop()
    if log:
        f = open(log, "ab", buffering=0)
        channel = Channel(f.write, f.close)
    else:
        # Its own connection per watch (a notebook's runs never mix); the launcher's pipe is shared.
        channel = open_channel(connect=connect, token=token, source=where)
    models = [model] if isinstance(model, torch.nn.Module) else []
    m = Monitor(optimizer, channel, where, every=every, models=models, closure=closure,
                max_steps=max_steps, hessian_every=hessian_every)
    m.owns_channel = bool(log) or channel_is_own(channel)  # type: ignore[attr-defined]
    optimizer._optiscope = m  # type: ignore[attr-defined]
    hooks.monitors.append(m)
    m.peers = hooks.monitors
    hooks.install_loss_hook()
    facts.install()  # the measured facts (facts.py) of the steps from now on, as in zero-code mode
    relayout.install()  # add_param_group: the layers are looked at again (relayout.py)
    hooks.attach_step(optimizer, m)
    atexit.register(m.end, "completed")
    return Watch(m)


def _end_earlier_watch(where: "object") -> None:
    """Re-running a notebook cell calls `watch` again from the same line: the earlier run from there is
    over (its optimizer is no longer stepped), so it ends now rather than mixing with the new one. Only
    for cells: a script may watch two optimizers from one line of a loop (a GAN's), both live."""
    from . import hooks
    from .attach import is_cell_file

    if not isinstance(where, tuple) or not is_cell_file(str(where[0])):
        return

    for m in list(hooks.monitors):
        if getattr(m, "owns_channel", False) and m.source == where and not m.ended:
            Watch(m).close("completed")


def _quiet_stop() -> None:
    """A script stopped from the panel leaves through StopTraining out of `optimizer.step()`: one line
    instead of a traceback (a notebook shows it as the cell's outcome)."""
    import sys

    from .cadence import StopTraining

    previous = sys.excepthook
    if getattr(previous, "_optiscope", False):
        return

    def hook(kind, value, tb):  # type: ignore[no-untyped-def]
        if issubclass(kind, StopTraining):
            sys.stderr.write(f"optiscope: {value or 'stopped'}\n")
            return
        previous(kind, value, tb)

    hook._optiscope = True  # type: ignore[attr-defined]
    sys.excepthook = hook
