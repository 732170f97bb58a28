"""Where events go: a dedicated pipe (fd) from the launcher, a TCP connection (remote attach), or a file.

Events never share a stream with the user's output: the launcher passes a pipe on its own file
descriptor (OPTISCOPE_EVENT_FD), so whatever the script prints cannot corrupt the NDJSON.
"""
import os
import socket
import threading
from typing import Any, Callable, Dict, Optional

from .encode import encode_event

Writer = Callable[[bytes], None]


class Channel:
    """Thread-safe line writer. A broken channel (the reader went away) disables itself silently:
    monitoring must never be the thing that kills a user's training run."""

    def __init__(self, write: Optional[Writer], close: Optional[Callable[[], None]] = None) -> None:
        self._write = write
        self._close = close
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self._write is not None

    def share_across_fork(self) -> None:
        """Before forking a helper that writes to this channel too: one lock for both processes, so no
        two events interleave (pipe writes above PIPE_BUF are not atomic)."""
        if getattr(self, "_shared", False):
            return
        import multiprocessing

        try:
            self._lock = multiprocessing.get_context("fork").Lock()  # type: ignore[assignment]
            self._shared = True
        except (OSError, ImportError, ValueError):  # no POSIX semaphores: the helper is the only writer anyway
            pass

    def flush(self) -> None:
        """Writes are unbuffered; kept for symmetry with file-like channels."""

    def emit(self, event: Dict[str, Any]) -> None:
        if self._write is None:
            return
        data = (encode_event(event) + "\n").encode("utf-8")
        with self._lock:
            try:
                if self._write is not None:
                    self._write(data)
            except (OSError, ValueError):
                self._write = None

    def close(self) -> None:
        with self._lock:
            self._write = None
            if self._close is not None:
                try:
                    self._close()
                except OSError:
                    pass
                self._close = None


def _fd_writer(fd: int) -> Writer:
    def write(data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]

    return write


def _socket_channel(address: str, token: str) -> Channel:
    host, _, port = address.rpartition(":")
    sock = socket.create_connection((host or "127.0.0.1", int(port)), timeout=10)
    sock.settimeout(None)
    # The first line authenticates; the server closes the connection on a wrong token.
    hello = encode_event({"hello": "optiscope", "protocol": 1, "token": token}) + "\n"
    sock.sendall(hello.encode("utf-8"))
    return Channel(sock.sendall, sock.close)


def open_channel(env: Optional[Dict[str, str]] = None) -> Channel:
    """The channel named by the environment: OPTISCOPE_EVENT_FD, OPTISCOPE_CONNECT (+ OPTISCOPE_TOKEN),
    or OPTISCOPE_LOG (a file path). With none of them, events are dropped."""
    env = dict(os.environ) if env is None else env
    fd = env.get("OPTISCOPE_EVENT_FD")
    if fd:
        n = int(fd)
        try:
            # Child processes the script spawns must not hold (or write to) the event pipe.
            os.set_inheritable(n, False)
        except OSError:
            pass
        return Channel(_fd_writer(n), lambda: os.close(n))
    connect = env.get("OPTISCOPE_CONNECT")
    if connect:
        return _socket_channel(connect, env.get("OPTISCOPE_TOKEN", ""))
    log = env.get("OPTISCOPE_LOG")
    if log:
        f = open(log, "ab", buffering=0)
        return Channel(f.write, f.close)
    return Channel(None)
