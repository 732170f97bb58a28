"""Finding the Optiscope window to stream to, and saying who we are when we connect.

A terminal opened in VS Code has OPTISCOPE_CONNECT and OPTISCOPE_TOKEN in its environment. A notebook
kernel (started by Jupyter, not from that terminal) finds the window's rendezvous file,
`.optiscope/attach.json`, by walking up from its working directory. The file holds the token, so it is
trusted only when it belongs to this user and nobody else can read it.
"""
import json
import os
import socket
import stat
import sys
from typing import Any, Dict, Optional, Tuple

RENDEZVOUS = os.path.join(".optiscope", "attach.json")
# A cell's text travels in the hello so the extension can find the cell it came from (bounded).
_MAX_CELL_CHARS = 64 * 1024


def find_rendezvous(start: Optional[str] = None) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    """(rendezvous, None) for the nearest usable `.optiscope/attach.json` above `start` (default: the
    working directory); (None, why) when one was found but cannot be used; (None, None) when none."""
    try:
        d = os.path.abspath(start or os.getcwd())
    except OSError:
        return None, None
    while True:
        path = os.path.join(d, RENDEZVOUS)
        try:
            st = os.stat(path)
        except OSError:
            st = None
        if st is not None:
            if not stat.S_ISREG(st.st_mode):
                return None, f"{path} is not a file"
            if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o077):
                return None, f"{path} is not owner-only (it holds a token); ignored"
            try:
                with open(path, "r", encoding="utf-8") as f:
                    data = json.load(f)
                port, token = int(data["port"]), str(data["token"])
            except (OSError, ValueError, KeyError, TypeError):
                return None, f"{path} is not a valid rendezvous file"
            host = str(data.get("host", "127.0.0.1"))
            found: Dict[str, Any] = {"connect": f"{host}:{port}", "token": token, "path": path}
            return found, None
        up = os.path.dirname(d)
        if up == d:
            return None, None
        d = up


def is_cell_file(filename: str) -> bool:
    """A Jupyter/IPython cell: ipykernel compiles each cell to a file in a temporary
    `ipykernel_<pid>` folder (or `<ipython-input-N-...>` in older versions)."""
    norm = filename.replace("\\", "/")
    return "/ipykernel_" in norm or norm.startswith("<ipython-input-")


def cell_text(filename: str) -> Optional[str]:
    import linecache

    lines = linecache.getlines(filename)
    if not lines:
        return None
    text = "".join(lines)
    return text if len(text) <= _MAX_CELL_CHARS else None


def hello(token: str, source: Optional[Tuple[str, int]] = None) -> Dict[str, Any]:
    """The first line on the connection: the token, and who is training (shown in the Runs view)."""
    h: Dict[str, Any] = {"hello": "optiscope", "protocol": 1, "token": token, "pid": os.getpid()}
    try:
        h["host"] = socket.gethostname()[:200]
    except OSError:
        pass
    try:
        h["cwd"] = os.getcwd()
    except OSError:
        pass
    script = _script_name()
    if script:
        h["script"] = script
    if source is not None and is_cell_file(source[0]):
        text = cell_text(source[0])
        if text is not None:
            h["cell"] = {"file": source[0], "text": text}
    return h


def _script_name() -> Optional[str]:
    main = sys.modules.get("__main__")
    if "ipykernel" in sys.modules or "IPython" in sys.modules and getattr(main, "__file__", None) is None:
        return "notebook"
    argv0 = sys.argv[0] if sys.argv else ""
    if argv0 and argv0 != "-c":
        return argv0[:1000]
    return None
