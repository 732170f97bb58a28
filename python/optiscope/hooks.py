"""Zero-code instrumentation: patches that find every optimizer, the loss the script backpropagates
and the modules (with the lines that created them), without touching the user's script.

- `Module.__init__`: remembers each module and its creation line (for layer names and `source`).
- `Optimizer.__init__`: wraps every optimizer created in a Monitor (with its creation line).
- `Optimizer.step`: step pre/post hooks where torch has them (2.x), else an instance-level wrapper
  that stays a bound method (1.x LR schedulers rewrap `optimizer.step` through `__func__`).
- `torch.autograd.backward` (which `Tensor.backward` calls): records the scalar being backpropagated;
  on curvature-probe steps it measures the Hessian on that batch's graph first.
"""
import threading
import types
from typing import Any, Callable, Dict, List, Optional

import torch
from torch import nn

from . import activity, facts, naming, overrides, relayout, workers
from .patches import unwrap_step
from .channel import Channel
from .cadence import StopTraining
from .monitor import Monitor
from .source import caller_location

_lock = threading.Lock()
_installed: Dict[str, Any] = {}
monitors: List[Monitor] = []
_pending_loss: Optional[torch.Tensor] = None
_in_probe = threading.local()


_last_taken: Optional[torch.Tensor] = None


_pending_first: Optional[torch.Tensor] = None
_closure_depth = 0  # > 0 while an optimizer runs step(closure)


def take_loss(first: bool = False) -> Optional[torch.Tensor]:
    """The loss of the coming step: the sum of the scalars backpropagated since the previous step of any
    optimizer (gradient accumulation divides each micro-batch loss, so the sum is the batch loss). Two
    optimizers stepping after one backward (an embedding and a head) both get that loss."""
    global _pending_loss, _last_taken, _pending_first
    if _pending_loss is None:
        return _last_taken
    # step(closure) may evaluate the closure many times (LBFGS): its loss is the first evaluation's.
    _last_taken = _pending_first if first else _pending_loss
    _pending_loss = _pending_first = None
    return _last_taken


def install_loss_hook() -> None:
    with _lock:
        if "backward" in _installed:
            return
        original = torch.autograd.backward
        _installed["backward"] = original

        def backward(tensors: Any, *args: Any, **kwargs: Any) -> Any:
            global _pending_loss, _pending_first
            probing = getattr(_in_probe, "on", False)
            if not probing:
                facts.on_backward()  # measured facts (facts.py): was the gradient reset since the last step?
            t = tensors[0] if isinstance(tensors, (list, tuple)) and len(tensors) == 1 else tensors
            if isinstance(t, torch.Tensor) and t.numel() == 1 and t.is_floating_point() and not probing:
                d = t.detach()
                if d.dim():  # a loss of shape [1]; the usual 0-d one needs no view (a dispatch saved)
                    d = d.reshape(())
                if _pending_loss is None:
                    _pending_first = d
                _pending_loss = d if _pending_loss is None else _pending_loss + d
                for m in monitors:
                    # Offloaded runs look at the loss in pre_step, before step() moves the parameters;
                    # step(closure) computes it inside step(), so there it is looked at here.
                    if _closure_depth and m.link is not None and not m.ended:
                        guarded(m, m.watch_loss, d)
                    lock = m.lockstep
                    if lock.active and lock.unawaited and not m.ended:  # else await_judged has nothing to wait for
                        try:  # guarded(), inline: this runs at every step
                            m.await_judged()  # the verdicts up to JUDGE_LAG steps back (lockstep.py)
                        except Exception as e:  # noqa: BLE001
                            m.fail(e)
                    if m.probes.armed and m.closure is None and not m.ended:
                        _in_probe.on = True
                        try:
                            guarded(m, m.probe_with_loss, t)
                        finally:
                            _in_probe.on = False
            return original(tensors, *args, **kwargs)

        torch.autograd.backward = backward  # type: ignore[assignment]


# _fast_pre, _light_pre, guarded and stop_if_asked are written out in attach_step's step wrapper (a call saved
# at every step); tests/test_twins.py runs both through every outcome and pins them alike.
def guarded(monitor: Monitor, fn: Any, *args: Any) -> None:
    """Runs a monitor callback; a bug in Optiscope stops the monitoring, never the user's training.
    StopTraining (the --steps budget) is a BaseException and passes through on purpose."""
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - any failure of the monitor
        monitor.fail(e)


def _fast_pre(monitor: Monitor, loss: Optional[torch.Tensor]) -> bool:
    """The offloaded fast path's first half (offload.FastStep); False: take the general path."""
    fast = monitor.fast
    if fast is None:
        return False
    try:
        return fast.pre(loss)
    except Exception as e:  # noqa: BLE001 - as guarded()
        monitor.fail(e)
        return True  # the monitor has ended; nothing more to do for this step


def _light_pre(monitor: Monitor, loss: Optional[torch.Tensor]) -> bool:
    """An inline light step's first half (light.InlineLight); False: take the general path."""
    try:
        return monitor.inline_light.pre(loss)
    except Exception as e:  # noqa: BLE001 - as guarded()
        monitor.fail(e)
        return True  # the monitor has ended; nothing more to do for this step


def stop_if_asked(monitor: Monitor) -> None:
    """After a step: when the Optiscope window asked this script to stop (its Stop button on an attached
    run), end the run as `stopped` and leave the training loop (StopTraining is not an Exception, so the
    user's `except Exception` does not swallow it; `optiscope.run` exits cleanly)."""
    if getattr(monitor.channel, "stop_requested", False) and not monitor.ended:
        monitor.end("stopped")
        raise StopTraining("Optiscope: stopped from the panel")


_detach: Dict[int, List[Callable[[], None]]] = {}  # id(monitor) → what undoes its step patches, in the order made


def attach_step(optimizer: torch.optim.Optimizer, monitor: Monitor) -> None:
    """Calls monitor.pre_step/post_step around every optimizer.step() (or, for the common offloaded
    step, the two halves of offload.FastStep). Without a closure the step's loss is known before the
    step: the scalars backpropagated since the previous one. With one, the closure computes it inside.
    detach_step(monitor) undoes it."""
    if hasattr(optimizer, "register_step_pre_hook") and hasattr(optimizer, "register_step_post_hook"):
        pending: List[Any] = [None, 0]  # this step's loss, and which path its pre-hook took

        def pre(_opt: Any, args: Any, kwargs: Any) -> None:
            global _closure_depth
            if args or kwargs.get("closure") is not None:
                _closure_depth += 1
                pending[0], pending[1] = None, False
                guarded(monitor, monitor.pre_step, True)
                return
            loss = take_loss()
            # which half comes after: 1 the offloaded fast path's, 2 an inline light step's, 0 post_step
            path = 1 if _fast_pre(monitor, loss) else 2 if _light_pre(monitor, loss) else 0
            pending[0], pending[1] = loss, path
            if not path:
                guarded(monitor, monitor.pre_step, False, loss)

        def post(_opt: Any, args: Any, kwargs: Any) -> None:
            global _closure_depth
            facts.after_step(monitor, monitors)  # measured facts (facts.py), before the monitor's post-step
            if args or kwargs.get("closure") is not None:
                _closure_depth -= 1
                guarded(monitor, monitor.post_step, take_loss(first=True))
                stop_if_asked(monitor)
                return
            loss, path = pending
            pending[0], pending[1] = None, 0
            if path == 1 and monitor.fast is not None:
                guarded(monitor, monitor.fast.post, loss)
            elif path == 2:
                guarded(monitor, monitor.inline_light.post, loss)
            else:
                guarded(monitor, monitor.post_step, loss)
            stop_if_asked(monitor)

        handles = [optimizer.register_step_pre_hook(pre), optimizer.register_step_post_hook(post)]  # type: ignore[attr-defined]

        def remove() -> None:
            for h in handles:
                h.remove()

        _detach.setdefault(id(monitor), []).append(remove)
        return
    original = optimizer.step  # bound (possibly already wrapped by the profiler hook)
    had_own = "step" in vars(optimizer)
    live = [True]  # False once detached: a wrapper put on top of this one still calls it, and it passes through

    def step(self: torch.optim.Optimizer, *args: Any, **kwargs: Any) -> Any:
        global _closure_depth
        if not live[0]:
            return original(*args, **kwargs)
        closure = args[0] if args else kwargs.get("closure")
        if closure is None:
            loss = take_loss()
            fast = monitor.fast
            took = False
            if fast is not None:
                try:  # _fast_pre(), inline: this path runs at every step of an offloaded run
                    took = fast.pre(loss)
                except Exception as e:  # noqa: BLE001
                    monitor.fail(e)
                    took = True  # the monitor has ended; nothing more to do for this step
            if took:
                out = original(*args, **kwargs)
                facts.after_step(monitor, monitors)  # measured facts (facts.py)
                fast = monitor.fast
                if fast is not None:
                    try:  # guarded(), inline: this path runs at every step of an offloaded run
                        fast.post(loss)
                    except Exception as e:  # noqa: BLE001
                        monitor.fail(e)
                if getattr(monitor.channel, "stop_requested", False):
                    stop_if_asked(monitor)
                return out
            if monitor.link is None:
                # An inline light step: _light_pre, guarded and stop_if_asked written out (one Python frame
                # each, the light step's whole cost being a few dozen of them)
                light = monitor.inline_light
                try:
                    taken = light.pre(loss)
                except Exception as e:  # noqa: BLE001 - as _light_pre
                    monitor.fail(e)
                    taken = True
                if taken:
                    out = original(*args, **kwargs)
                    facts.after_step(monitor, monitors)  # measured facts (facts.py)
                    try:
                        light.post(loss)
                    except Exception as e:  # noqa: BLE001 - as guarded()
                        monitor.fail(e)
                    if getattr(monitor.channel, "stop_requested", False):
                        stop_if_asked(monitor)
                    return out
            guarded(monitor, monitor.pre_step, False, loss)
            out = original(*args, **kwargs)
            facts.after_step(monitor, monitors)  # measured facts (facts.py)
            guarded(monitor, monitor.post_step, loss)
            stop_if_asked(monitor)
            return out
        guarded(monitor, monitor.pre_step, True)
        _closure_depth += 1
        try:
            out = original(*args, **kwargs)
        finally:
            _closure_depth -= 1
        facts.after_step(monitor, monitors)  # measured facts (facts.py)
        loss = take_loss(first=True)
        if isinstance(out, torch.Tensor) and out.numel() == 1:
            loss = out.detach().reshape(())  # what step(closure) returns: the loss before the update
        guarded(monitor, monitor.post_step, loss)
        stop_if_asked(monitor)
        return out

    optimizer.step = types.MethodType(step, optimizer)  # type: ignore[method-assign]
    _detach.setdefault(id(monitor), []).append(lambda: unwrap_step(optimizer, step, original, had_own, live))


def detach_step(monitor: Monitor) -> None:
    """Undoes attach_step (and the --set clipping wrapper): the optimizer's step() is its own again."""
    for undo in reversed(_detach.pop(id(monitor), [])):
        undo()
    if getattr(monitor.optimizer, "_optiscope", None) is monitor:
        del monitor.optimizer._optiscope  # type: ignore[attr-defined]


def install(channel: Channel, every: Optional[int], script: Optional[str],
            max_steps: Optional[int], hessian_every: int) -> None:
    """Zero-code mode: watch every optimizer and module the script creates from now on."""
    with _lock:
        if "optimizer" in _installed:
            return
        module_init = nn.Module.__init__
        opt_init = torch.optim.Optimizer.__init__
        _installed["optimizer"] = opt_init
        _installed["module"] = module_init

        def new_module_init(self: nn.Module, *args: Any, **kwargs: Any) -> None:
            module_init(self, *args, **kwargs)
            naming.record_module(self)

        def new_opt_init(self: torch.optim.Optimizer, *args: Any, **kwargs: Any) -> None:
            opt_init(self, *args, **kwargs)
            if getattr(self, "_optiscope", None) is not None:
                return
            # `--set training.optimizer.name` (a race entry): re-initialised as that class, whose own
            # (hooked) Optimizer.__init__ has watched it by the time rebuild() returns.
            if overrides.current() and overrides.rebuild(self):
                return
            # --set overrides (overrides.py): hyperparameters before the monitor reads them, clipping outermost.
            if overrides.current():
                overrides.apply_to_optimizer(self)
            # `Optimizer.__init__` runs inside the subclass's __init__: the user's line is further out.
            m = Monitor(self, channel, caller_location(2), every=every, script=script,
                        max_steps=max_steps, hessian_every=hessian_every)
            workers.adopt(m)
            self._optiscope = m  # type: ignore[attr-defined]
            monitors.append(m)
            m.peers = monitors
            attach_step(self, m)
            if overrides.current():
                undo_clip = overrides.wrap_clip(self)
                if undo_clip is not None:
                    _detach[id(m)].append(undo_clip)

        nn.Module.__init__ = new_module_init  # type: ignore[method-assign]
        torch.optim.Optimizer.__init__ = new_opt_init  # type: ignore[method-assign]
        workers.install(channel, monitors.clear, finish)
    install_loss_hook()
    facts.install()  # the measuring patches of facts.py
    relayout.install()  # add_param_group: the layers are looked at again (relayout.py)
    activity.record_call_sites()  # which activation follows which layer, from the first forward passes


def uninstall() -> None:
    """Undoes install(), install_loss_hook() and watch(), symmetrically: the original Module/Optimizer
    __init__ and autograd.backward are back, so are the functions facts.py patched (losses, softmax, init,
    Module.train, the schedulers) and relayout.py's add_param_group and its global forward hook, and activity.py's call-site recording hook; every watched optimizer's step() is its own
    again (the --set clipping wrapper removed too), its run is ended (`stopped`: the forward hooks of
    activity.py are removed, a helper process finishes), and no monitor is kept."""
    global _pending_loss, _pending_first, _last_taken, _closure_depth
    with _lock:
        if "module" in _installed:
            nn.Module.__init__ = _installed.pop("module")  # type: ignore[method-assign]
        if "optimizer" in _installed:
            torch.optim.Optimizer.__init__ = _installed.pop("optimizer")  # type: ignore[method-assign]
        if "backward" in _installed:
            torch.autograd.backward = _installed.pop("backward")  # type: ignore[assignment]
        for m in monitors:
            detach_step(m)
            m.end("stopped")  # a started run is closed (its helper process, if any, finishes and exits)
        monitors.clear()
        activity.stop_recording()
        _pending_loss = _pending_first = _last_taken = None
        _closure_depth = 0
    facts.uninstall()
    relayout.uninstall()
    workers.uninstall()


def finish(reason: str) -> None:
    for m in monitors:
        m.end(reason)


def last_run() -> Optional[str]:
    started = [m for m in monitors if m.started]
    return started[-1].run if started else None
