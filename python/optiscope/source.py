"""Locating the user's code: which frame of a stack is "theirs" (not torch, not the standard library,
not Optiscope), and how to print its file so an editor can open it."""
import os
import sys
import sysconfig
import types
from typing import Dict, List, Optional, Tuple

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _library_dirs() -> List[str]:
    dirs = {_PACKAGE_DIR}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        p = sysconfig.get_paths().get(key)
        if p:
            dirs.add(os.path.abspath(p))
    try:
        import torch

        dirs.add(os.path.dirname(os.path.abspath(torch.__file__)))
    except ImportError:
        pass
    return sorted(dirs)


_LIB_DIRS: Optional[List[str]] = None
_cache: Dict[str, bool] = {}


def is_user_file(filename: str) -> bool:
    """True for a real file outside the interpreter's libraries, site-packages and this package."""
    global _LIB_DIRS
    hit = _cache.get(filename)
    if hit is not None:
        return hit
    if _LIB_DIRS is None:
        _LIB_DIRS = _library_dirs()
    result = True
    if not filename or filename.startswith("<"):
        result = False
    else:
        path = os.path.abspath(filename)
        parts = path.replace("\\", "/").split("/")
        if "site-packages" in parts or "dist-packages" in parts:
            result = False
        elif any(path == d or path.startswith(d + os.sep) for d in _LIB_DIRS):
            result = False
    _cache[filename] = result
    return result


def display_path(filename: str) -> str:
    """Relative to the working directory when the file is under it (how users name their files),
    absolute otherwise."""
    path = os.path.abspath(filename)
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def caller_location(skip: int = 1) -> Optional[Tuple[str, int]]:
    """Innermost frame of the current stack that is in the user's code, as (display path, line)."""
    try:
        frame: Optional[types.FrameType] = sys._getframe(skip)
    except ValueError:
        return None
    while frame is not None:
        if is_user_file(frame.f_code.co_filename):
            return display_path(frame.f_code.co_filename), frame.f_lineno
        frame = frame.f_back
    return None


def traceback_location(tb: Optional[types.TracebackType]) -> Optional[Tuple[str, int]]:
    """Innermost traceback entry in the user's code: where their program went wrong."""
    found: Optional[Tuple[str, int]] = None
    while tb is not None:
        if is_user_file(tb.tb_frame.f_code.co_filename):
            found = (display_path(tb.tb_frame.f_code.co_filename), tb.tb_lineno)
        tb = tb.tb_next
    return found


def source_dict(loc: Optional[Tuple[str, int]]) -> Optional[Dict[str, object]]:
    if loc is None or loc[1] < 1:
        return None
    return {"file": loc[0], "line": loc[1]}
