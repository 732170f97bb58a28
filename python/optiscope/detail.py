"""How often a long run's step events carry per-layer statistics: the engine's schedule
(src/engine/monitors/detail.ts, `monitors.thin_after`). Up to THIN_AFTER steps every monitored step
carries them; past it the period doubles each time the step count doubles (every 2nd step up to twice
the threshold, every 4th up to four times, ...), so a run's log grows with the logarithm of its length.
The loss, gradient norm and lr stay on every monitored step, and a step with a non-finite value keeps its
layers. The Node side judges the stream as it judges an engine run thinned the same way: per-layer
verdicts on the steps that carry the numbers. OPTISCOPE_THIN_AFTER sets the threshold (0: never thin)."""
import math
import os
from typing import Any, Dict, List, Optional

THIN_AFTER_DEFAULT = 10_000


def thin_after_from_env() -> int:
    """OPTISCOPE_THIN_AFTER, else the default; a value that is not a non-negative integer is the default."""
    raw = os.environ.get("OPTISCOPE_THIN_AFTER", "")
    try:
        value = int(raw)
    except ValueError:
        return THIN_AFTER_DEFAULT
    return value if value >= 0 else THIN_AFTER_DEFAULT


def detail_period(step: int, thin_after: int) -> int:
    """The period of per-layer statistics at `step` (detail.ts's detailPeriod with every = 1)."""
    if thin_after <= 0 or step <= thin_after:
        return 1
    factor = 2
    while step > thin_after * factor and factor < 2 ** 30:
        factor *= 2
    return factor


class Thinning:
    """Which monitored steps keep their per-layer statistics in the step event."""

    def __init__(self, thin_after: int) -> None:
        self.thin_after = thin_after
        self.last: Optional[int] = None  # the last step that carried them

    def layers(self, step: int, loss: Optional[float], grad_norm: float, layers: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """`layers`, or [] when this step's detail is thinned out (`loss`: None when the bridge did not see it). Steps the overhead governor samples may
        skip the multiples of the period: a step a whole period after the last detailed one keeps them."""
        period = detail_period(step, self.thin_after)
        if (period == 1 or self.last is None or step % period == 0 or step - self.last >= period
                or not _finite(loss, grad_norm, layers)):
            self.last = step
            return layers
        return []


def _finite(loss: Optional[float], grad_norm: float, layers: List[Dict[str, Any]]) -> bool:
    if not math.isfinite(grad_norm) or (loss is not None and not math.isfinite(loss)):
        return False
    for layer in layers:
        for key in ("gradNorm", "weightNorm", "updateNorm"):
            v = layer.get(key)
            if isinstance(v, float) and not math.isfinite(v):
                return False
    return True
