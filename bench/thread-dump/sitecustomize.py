"""Loaded by bench/thread_accounting.py only (PYTHONPATH): at a Python process's exit, each thread's CPU time
and context switches, from /proc, as one JSON file in THREAD_DUMP_DIR; also before os._exit (the helper's
way out), which skips atexit."""
import atexit
import json
import os

_DIR = os.environ.get("THREAD_DUMP_DIR")


def _dump() -> None:
    if not _DIR:
        return
    threads = {}
    for t in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{t}/schedstat", encoding="utf-8") as f:
                ns = int(f.read().split()[0])
            vol = inv = 0
            with open(f"/proc/self/task/{t}/status", encoding="utf-8") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt"):
                        vol = int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt"):
                        inv = int(line.split()[1])
            threads[t] = {"ns": ns, "vol": vol, "inv": inv}
        except OSError:  # the thread exited while this read
            pass
    try:
        with open(f"{_DIR}/{os.getpid()}.json", "w", encoding="utf-8") as f:
            json.dump({"pid": os.getpid(), "ppid": os.getppid(), "kind": "py", "threads": threads}, f)
    except OSError:
        pass


atexit.register(_dump)
_os_exit = os._exit


def _exit(code: int) -> None:
    _dump()
    _os_exit(code)


os._exit = _exit
