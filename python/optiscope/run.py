"""`python -m optiscope.run <script> [args...]`: run a training script unmodified under Optiscope.

Exit codes: the script's own (0 when it finishes), 1 when it raises (after an `error` event),
2 when the script cannot be found, 3 when torch cannot be imported (the launcher turns that into a
one-line message about choosing another interpreter).
"""
import os
import runpy
import signal
import sys
import traceback
from contextlib import contextmanager
from types import FrameType
from typing import Iterator, List, Optional

EXIT_NO_TORCH = 3


@contextmanager
def _compiled_once() -> Iterator[None]:
    """This package's modules, imported with their compiled bytecode kept in the user's cache folder
    ($XDG_CACHE_HOME or ~/.cache, then optiscope/pycache) instead of compiled again at every start.

    Why: Optiscope's launcher sets PYTHONDONTWRITEBYTECODE (the package may sit in a read-only extension
    folder), so every run compiled its ~6,000 lines anew: ≈ 40 ms of the ≈ 60 ms of CPU its imports
    took on the bench machine. Only while these imports run: the script's own modules and libraries keep
    Python's usual bytecode rules (a prefix set for them would bypass every existing __pycache__)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not (sys.dont_write_bytecode and os.environ.get("OPTISCOPE_EVENT_FD") and sys.pycache_prefix is None
            and os.path.isabs(base)):
        yield
        return
    sys.pycache_prefix, sys.dont_write_bytecode = os.path.join(base, "optiscope", "pycache"), False
    try:
        yield
    finally:
        sys.pycache_prefix, sys.dont_write_bytecode = None, True


def _int_env(name: str) -> Optional[int]:
    v = os.environ.get(name)
    try:
        return int(v) if v else None
    except ValueError:
        return None


def main(argv: List[str]) -> int:
    if not argv:
        sys.stderr.write("usage: python -m optiscope.run <script.py> [args...]\n")
        return 2
    script = argv[0]
    if not os.path.isfile(script):
        sys.stderr.write(f"optiscope: {script}: no such file\n")
        return 2
    try:
        import torch  # noqa: F401
    except ImportError as e:
        # Under the launcher, it prints the one-line explanation (with how to pick another interpreter).
        if not os.environ.get("OPTISCOPE_EVENT_FD"):
            sys.stderr.write(f"optiscope: PyTorch is not installed for {sys.executable} ({e}).\n")
        return EXIT_NO_TORCH

    with _compiled_once():
        from . import hooks, workers
        from .channel import open_channel
        from .cadence import StopTraining
        from .monitor import distributed_rank
        from .source import traceback_location

    channel = open_channel(script=script)
    rank, _ = distributed_rank()
    if os.environ.get("OPTISCOPE_THREADS"):
        torch.set_num_threads(int(os.environ["OPTISCOPE_THREADS"]))
    hooks.install(channel, every=_int_env("OPTISCOPE_EVERY"), script=script,
                  max_steps=_int_env("OPTISCOPE_STEPS"), hessian_every=_int_env("OPTISCOPE_HESSIAN_EVERY") or 0)

    class PeerFailed(BaseException):
        """Another rank of this distributed job died (the launcher sends SIGUSR1)."""

    def on_term(_sig: int, _frame: Optional[FrameType]) -> None:
        raise KeyboardInterrupt()

    def on_peer(_sig: int, _frame: Optional[FrameType]) -> None:
        raise PeerFailed()

    signal.signal(signal.SIGTERM, on_term)
    if hasattr(signal, "SIGUSR1"):
        signal.signal(signal.SIGUSR1, on_peer)

    sys.argv = [script] + argv[1:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    code = 0
    try:
        runpy.run_path(script, run_name="__main__")
        hooks.finish("completed")
    except StopTraining:
        hooks.finish("stopped" if channel.stop_requested else "completed")
    except SystemExit as e:
        c = e.code
        code = c if isinstance(c, int) else (0 if c is None else 1)
        hooks.finish("completed" if code == 0 else "failed")
    except KeyboardInterrupt:
        hooks.finish("stopped")
        code = 130
    except PeerFailed:
        hooks.finish("failed")
        code = 1
    except BaseException as e:  # the user's script raised: report it, keep every earlier event
        hooks.finish("failed")
        loc = traceback_location(e.__traceback__)
        event = {"type": "error", "message": f"{type(e).__name__}: {e}",
                 "detail": "".join(traceback.format_exception(type(e), e, e.__traceback__))}
        run = hooks.last_run()
        if run:
            event["run"] = run
        if loc:
            event["location"] = {"file": loc[0], "line": loc[1]}
        if rank is not None:
            event["rank"] = rank
        channel.emit(event)
        where = f"{loc[0]}:{loc[1]}: " if loc else ""
        sys.stderr.write(f"{where}{type(e).__name__}: {e}\n")
        code = 1
    # Only news when the script ran through: a script that raised first (e.g. init_process_group without
    # RANK) failed for the reason just printed, not for want of an optimizer.
    if not hooks.monitors and not workers.any_worker_watched() and code == 0:
        sys.stderr.write("optiscope: the script created no torch.optim optimizer, so there was nothing to watch.\n")
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    channel.close()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
