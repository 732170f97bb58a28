"""Where events go: a dedicated pipe (fd) from the launcher, a TCP connection (remote attach), or a file.

Events never share a stream with the user's output: the launcher passes a pipe on its own file
descriptor (OPTISCOPE_EVENT_FD), so whatever the script prints cannot corrupt the NDJSON.

The launcher also passes a doorbell (OPTISCOPE_WAKE_FD): it reads the event pipe when a byte arrives
there, or on its own every few tens of milliseconds, not at every line. A light step's event (cadence.py)
is written quietly, without the byte: it sits in the pipe (in the kernel, so a killed process loses
none) until the next event that rings, e.g. the next detailed step, whose verdict the run may wait for.
Why: a small model's step is shorter than a wake-up of the Node side; woken for every one, the Node
process took a core from the script's BLAS threads at every step (docs/pytorch.md#overhead).
A detailed step's event is quiet too when the run never waits for its verdict (no automatic probes:
lockstep.py), and so would wake the Node side at every step of an every-step run for nothing. Quiet
lines ring once QUIET_RING_BYTES of them are unread, so the pipe (64 kB on Linux) never fills between
the reader's own reads and the writer never blocks on it.
"""
import json
import os
import socket
import sys
import threading
from typing import Any, Callable, Dict, Optional, Tuple

from . import attach
from .encode import encode_event

Writer = Callable[[bytes], None]
# Bytes of quiet lines after which the doorbell rings anyway: a quarter of a Linux pipe's 64 kB.
QUIET_RING_BYTES = 16384


class Channel:
    """Thread-safe line writer. A broken channel (the reader went away) disables itself silently:
    monitoring must never be the thing that kills a user's training run."""

    def __init__(self, write: Optional[Writer], close: Optional[Callable[[], None]] = None,
                 wake: Optional[Callable[[], None]] = None) -> None:
        self._write = write
        self._close = close
        self._wake = wake  # rings the reader's doorbell (the launcher's pipe only)
        self._lock = threading.Lock()
        self._unrung = 0  # bytes written quietly since the doorbell last rang (this process's)
        # Set when the Optiscope window asks this script to stop (remote attach).
        self.stop_requested = False

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

    def emit(self, event: Dict[str, Any], quiet: bool = False) -> None:
        """Writes one event line. `quiet`: without ringing the doorbell (a light step: the reader takes it
        with the next event that rings, or on its own within a few tens of milliseconds)."""
        if self._write is None:
            return
        self.write_line(encode_event(event) + "\n", quiet)

    def write_line(self, line: str, quiet: bool = False) -> None:
        """Writes one encoded event line (with its newline): emit's second half, for a line formatted
        already (a light step's, report.py)."""
        if self._write is None:
            return
        data = line.encode("utf-8")
        with self._lock:
            try:
                if self._write is not None:
                    self._write(data)
            except (OSError, ValueError):
                self._write = None
                return
        if quiet:
            self._unrung += len(data)
            if self._unrung < QUIET_RING_BYTES:
                return
        self.wake()

    def wake(self) -> None:
        """Asks the reader to read what was written (the launcher's pipe; a no-op elsewhere)."""
        self._unrung = 0
        if self._wake is not None:
            try:
                self._wake()
            except OSError:
                self._wake = None

    def close(self) -> None:
        with self._lock:
            self._write = None
            self._wake = None
            if self._close is not None:
                try:
                    self._close()
                except OSError:
                    pass
                self._close = None


def channel_is_own(channel: Channel) -> bool:
    """True for a connection opened for one `watch` (closed with it), not the launcher's shared pipe."""
    return getattr(channel, "own", False)


def _fd_writer(fd: int) -> Writer:
    def write(data: bytes) -> None:
        n = os.write(fd, data)  # a line below PIPE_BUF goes in one write
        if n < len(data):
            view = memoryview(data)[n:]
            while view:
                view = view[os.write(fd, view):]

    return write


def _doorbell(fd: Optional[str]) -> Tuple[Optional[Callable[[], None]], Optional[int]]:
    """The launcher's doorbell (OPTISCOPE_WAKE_FD): one byte asks it to read the event pipe now. Never
    blocks: a full doorbell has bytes enough to wake the reader already."""
    if not fd:
        return None, None
    try:
        n = int(fd)
        os.set_inheritable(n, False)
        os.set_blocking(n, False)
    except (ValueError, OSError):
        return None, None
    byte = b"\0"

    def ring() -> None:
        try:
            os.write(n, byte)
        except BlockingIOError:
            pass

    return ring, n


def _close_fds(*fds: Optional[int]) -> None:
    for fd in fds:
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


def _socket_channel(address: str, token: str, hello: Dict[str, Any]) -> Channel:
    host, _, port = address.rpartition(":")
    sock = socket.create_connection((host or "127.0.0.1", int(port)), timeout=10)
    sock.settimeout(None)
    # The first line authenticates; the server closes the connection on a wrong token.
    sock.sendall((encode_event(dict(hello, token=token)) + "\n").encode("utf-8"))
    def close() -> None:
        # shutdown, not just close: the stop listener's recv (and a forked helper) hold the socket too,
        # and only shutdown ends the connection for the window now.
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    channel = Channel(sock.sendall, close)
    channel.own = True  # type: ignore[attr-defined]
    _listen_for_stop(sock, channel)
    return channel


def _listen_for_stop(sock: socket.socket, channel: Channel) -> None:
    """The panel's Stop arrives as a line `{"type": "stop"}`: the script is asked to stop at its next
    step (hooks.stop_if_asked), never killed across the network."""

    def read() -> None:
        buf = b""
        while True:
            try:
                chunk = sock.recv(4096)
            except OSError:
                return
            if not chunk:
                return
            buf = (buf + chunk)[-65536:]
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                try:
                    message = json.loads(line.decode("utf-8"))
                except ValueError:
                    continue
                if isinstance(message, dict) and message.get("type") == "stop":
                    channel.stop_requested = True

    threading.Thread(target=read, name="optiscope-attach", daemon=True).start()


def _announce(message: str) -> None:
    sys.stderr.write(f"optiscope: {message}\n")
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def open_channel(env: Optional[Dict[str, str]] = None, connect: Optional[str] = None, token: Optional[str] = None,
                 source: Optional[Tuple[str, int]] = None, script: Optional[str] = None) -> Channel:
    """The channel to send events on, first found of: the launcher's pipe (OPTISCOPE_EVENT_FD), an
    explicit `connect` (+ `token`), OPTISCOPE_CONNECT (+ OPTISCOPE_TOKEN, set in VS Code's terminals),
    OPTISCOPE_LOG (a file path), the rendezvous file `.optiscope/attach.json` above the working directory
    (notebook kernels). With none, or when the connection fails, events are dropped after one line on
    stderr: monitoring never stops a training run."""
    env = dict(os.environ) if env is None else env
    fd = env.get("OPTISCOPE_EVENT_FD")
    if fd and not connect:
        n = int(fd)
        try:
            # Child processes the script spawns must not hold (or write to) the event pipe.
            os.set_inheritable(n, False)
        except OSError:
            pass
        wake = _doorbell(env.get("OPTISCOPE_WAKE_FD"))
        return Channel(_fd_writer(n), lambda: _close_fds(n, wake[1]), wake[0])
    if not connect and env.get("OPTISCOPE_CONNECT"):
        connect, token = env["OPTISCOPE_CONNECT"], env.get("OPTISCOPE_TOKEN", "")
    log = env.get("OPTISCOPE_LOG")
    if not connect and log:
        f = open(log, "ab", buffering=0)
        return Channel(f.write, f.close)
    if not connect:
        found, why = attach.find_rendezvous()
        if found is None:
            _announce(why or "no Optiscope window is listening (no OPTISCOPE_CONNECT, no .optiscope/attach.json "
                      "above this folder); training goes on unmonitored")
            return Channel(None)
        connect, token = found["connect"], found["token"]
    hello = attach.hello("", source)
    if script:
        hello["script"] = script
    try:
        return _socket_channel(connect, token or "", hello)
    except (OSError, ValueError) as e:
        _announce(f"cannot reach Optiscope at {connect} ({e}); training goes on unmonitored")
        return Channel(None)
