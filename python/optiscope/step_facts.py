"""What is measured beyond the per-layer numbers (stats.py): each layer's facts for the `start` event
(its size, the activation whose units can die or saturate, its line, its module) and what the hooks
saw on a step (the `step` event's `facts`: batch size, an unseen loss, where a NaN/Inf was born)."""
import math
from typing import Any, Dict, Optional

from . import naming
from .activity import ActivityProbe
from .stats import StepStats


def layer_facts(layer: "naming.Layer", activity: ActivityProbe) -> Dict[str, Any]:
    """A layer of the start event: its size, the activation whose units can die or saturate, its line."""
    facts: Dict[str, Any] = {"name": layer.name, "parameters": sum(p.numel() for p in layer.params)}
    activation = activity.activation_of(layer.name)
    if activation is not None:
        facts["activation"] = activation
    if layer.source is not None:
        facts["location"] = {"file": layer.source[0], "line": layer.source[1]}
    info = naming.module_info(layer.module)
    if info is not None:
        facts["module"] = info
    return facts


def step_facts(s: StepStats, loss_known: bool, layout: "naming.Layout", activity: Optional[ActivityProbe]) -> Dict[str, Any]:
    """What the hooks saw on this step that the per-layer numbers do not carry (the step event's `facts`)."""
    facts: Dict[str, Any] = {}
    rows = activity.batch_rows if activity else 0
    if rows:
        facts["batchSize"] = rows
    if not loss_known:
        facts["lossUnknown"] = True
    gn, wn = s.param_grad_norms, s.param_weight_norms
    if not math.isfinite(sum(gn) + sum(wn)):  # a sum of norms is finite exactly when they all are (or overflows)
        pos = 0
        for layer in layout.layers:
            n = len(layer.params)
            for name, g, w in zip(layer.param_names, gn[pos : pos + n], wn[pos : pos + n]):
                if not (math.isfinite(g) and math.isfinite(w)):
                    facts["nonFiniteParameter"] = name
                    break
            if "nonFiniteParameter" in facts:
                break
            pos += n
    if s.first_nonfinite_module:
        facts["nonFiniteModule"] = s.first_nonfinite_module
    return facts
