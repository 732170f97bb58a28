"""NDJSON encoding of events, matching src/engine/protocol.ts.

JSON has no NaN or Infinity, yet a diverging run must be able to say "the loss became NaN", so
non-finite floats travel as the strings "NaN", "Infinity" and "-Infinity" (the protocol's `num`; wire.py).
"""
import json
import math
from typing import Any, Dict

from .wire import INFINITY, MINUS_INFINITY, NAN


def _clean(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return NAN
        if math.isinf(value):
            return INFINITY if value > 0 else MINUS_INFINITY
        return value
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    # numpy and torch scalars: anything with a float value.
    try:
        return _clean(float(value))
    except (TypeError, ValueError):
        return str(value)


# One encoder for every event: json.dumps with options builds a new JSONEncoder per call.
_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"), ensure_ascii=False)


def encode_event(event: Dict[str, Any]) -> str:
    """One NDJSON line, without the newline. Never emits bare NaN/Infinity tokens."""
    try:
        # Fast path (C encoder): most events hold only finite floats and plain types.
        return _ENCODER.encode(event)
    except (ValueError, TypeError):
        return _ENCODER.encode(_clean(event))
