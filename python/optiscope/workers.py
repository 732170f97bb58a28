"""Worker processes of the user's script: PyTorch's Hogwild! pattern (`model.share_memory()`, then
several `torch.multiprocessing` processes, each with its own optimizer) under the zero-code bridge.

Forked workers inherit the bridge's hooks and its event channel. Without this module every worker's
optimizer would be named like the others' (one run fed by several processes) and no worker would end its
run (a multiprocessing child leaves through os._exit, without atexit). Here each worker's runs are named
`<optimizer>-worker<k>` (k: the process's multiprocessing number), the channel's lock is shared by all
processes so no two events interleave, and a worker ends its runs when its target returns. The workers'
runs go to the same stream as the parent's, so the panel shows them together. Only the `fork` start
method (Linux's default) is covered: a `spawn`ed child is a fresh interpreter without the bridge.
"""
import multiprocessing
import multiprocessing.util
import os
from typing import Any, Callable, Optional

_state: dict = {"installed": False, "index": None, "channel": None, "watched": None, "forget": None, "finish": None}


def install(channel: Any, forget: Callable[[], None], finish: Callable[[str], None]) -> None:
    """Called once by the zero-code bridge (hooks.install) before the user's script runs. In a worker,
    `forget` drops the parent's monitors and `finish(reason)` ends the worker's own runs."""
    _state["forget"], _state["finish"] = forget, finish
    if _state["installed"] or not hasattr(os, "register_at_fork"):
        return
    _state["installed"] = True
    _state["channel"] = channel
    os.register_at_fork(before=_before_fork)
    # multiprocessing clears a child's finalizers after the fork, then runs these: the place to register ours.
    multiprocessing.util.register_after_fork(_KEEP, _in_worker)


class _Anchor:
    """register_after_fork keeps a weak reference to an object: this one lives as long as the module."""


_KEEP = _Anchor()


def uninstall() -> None:
    """Undoes install() as far as Python allows: fork handlers cannot be unregistered, so they do nothing
    from now on."""
    _state["channel"] = _state["forget"] = _state["finish"] = None


def _before_fork() -> None:
    if _state["finish"] is None:
        return
    channel = _state["channel"]
    if channel is not None:
        channel.share_across_fork()
    if _state["watched"] is None:
        try:  # set by a worker that watches an optimizer, read by the parent at its end
            _state["watched"] = multiprocessing.get_context("fork").RawValue("i", 0)
        except (OSError, ImportError, ValueError):
            _state["watched"] = False


def _in_worker(_anchor: object) -> None:
    """In a multiprocessing child (not in other forks, such as the bridge's own helper processes)."""
    forget, finish = _state["forget"], _state["finish"]
    if forget is None or finish is None:
        return
    # The parent's monitors are the parent's: this process neither ends nor names their runs.
    forget()
    _state["index"] = -1  # numbered when the worker creates its first optimizer (its identity is set by then)
    # A multiprocessing child leaves through os._exit after its target: atexit never runs, these do.
    multiprocessing.util.Finalize(None, finish, args=("completed",), exitpriority=100)


def worker_index() -> Optional[int]:
    """This process's worker number, when it is a forked worker of the watched script."""
    if _state["index"] is None:
        return None
    if _state["index"] == -1:
        ident = getattr(multiprocessing.current_process(), "_identity", ())
        _state["index"] = int(ident[-1]) - 1 if ident else os.getpid()
    return _state["index"]


def adopt(monitor: Any) -> None:
    """A monitor created in a worker: give its run the worker's name, and tell the parent."""
    k = worker_index()
    if k is None:
        return
    monitor.run = f"{monitor.run}-worker{k}"
    watched = _state["watched"]
    if watched is not None and watched is not False:  # a ctypes c_int(0) is falsy
        watched.value = 1


def any_worker_watched() -> bool:
    watched = _state["watched"]
    return watched is not None and watched is not False and watched.value == 1
