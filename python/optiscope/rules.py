"""The detectors' thresholds: the engine's src/engine/monitors/rules.json, read as-is (one description
of every rule, shared with the engine). The launcher passes its contents in OPTISCOPE_RULES_JSON;
OPTISCOPE_RULES may name a copy of the file; inside the repository it is found next to this package."""
import json
import math
import os
from typing import Any, Dict, Optional

_HERE = os.path.dirname(os.path.abspath(__file__))
_CANDIDATES = (
    os.path.join(_HERE, "..", "..", "src", "engine", "monitors", "rules.json"),
)


def find_rules_file(env: Optional[Dict[str, str]] = None) -> Optional[str]:
    env = dict(os.environ) if env is None else env
    given = env.get("OPTISCOPE_RULES")
    if given:
        return given
    for path in _CANDIDATES:
        if os.path.isfile(path):
            return os.path.normpath(path)
    return None


def load_rules(path: Optional[str] = None) -> Optional[Dict[str, Any]]:
    """The rules dict, or None when none can be found (then no verdicts, only statistics)."""
    inline = os.environ.get("OPTISCOPE_RULES_JSON")
    if inline and not path:
        return json.loads(inline)
    path = path or find_rules_file()
    if not path:
        return None
    with open(path, "r", encoding="utf-8") as f:
        return json.load(f)


def window_for(total_steps: int, rules: Dict[str, Any]) -> int:
    """The detector window for a run of `total_steps` planned steps (rules.ts windowFor)."""
    w = rules["window"]
    n = int(math.floor(total_steps * w["fraction"] + 0.5))  # JavaScript Math.round
    return max(int(w["min"]), min(int(w["max"]), n))
