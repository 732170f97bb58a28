"""Layers that change after a run has started: what the optimizer holds and which modules receive
gradients, read again when the script changes them.

A fine-tuning script unfreezes its backbone at epoch N and gives it to the optimizer
(`optimizer.add_param_group`), replaces a classifier head (`model.fc = nn.Linear(...)`), or flips
`requires_grad` back on. The run's layers are then no longer those of its `start` event: the new ones
must appear in the stream from that step with their real names, a replaced module's old parameters keep
the name they had (`fc (replaced)`), and a module that receives gradients but is in no optimizer is
reported (facts.py's `unoptimized-params`).

When it is looked at, cheaply: at a monitored step's pre-step (the step's gradients exist, the
parameters have not moved yet) when
- `Optimizer.add_param_group` was called on a watched optimizer (patched here),
- a module with parameters of its own was created since the last look (zero-code mode sees every
  module created: naming.recent),
- or every SCAN_EVERY steps, for what no patch sees (explicit mode's modules, `requires_grad` flipped,
  a param group's list edited in place): a pass over the optimizer's and the model's parameters.
A change is sent as a `layout` fact before the first step event that uses it (monitor.py relayouts).
"""
from typing import Any, Dict, List, Optional, Tuple

import torch

from . import naming

# Steps between the periodic looks (only monitored steps look).
SCAN_EVERY = 20

_state: Dict[str, Any] = {"generation": 0, "original": None}


def _settle() -> int:
    """Reads the modules created since the last look: the tree generation moves on when one of them has
    parameters of its own (a loss module created in the training loop is no news)."""
    recent = naming.recent
    news = naming.recent_overflow[0]
    for ref in recent:
        mod = ref()
        if mod is not None and any(p is not None for p in mod._parameters.values()):
            news = True
            break
    recent.clear()
    naming.recent_overflow[0] = False
    if news:
        _state["generation"] += 1
    return int(_state["generation"])


def generation() -> int:
    """The module tree's generation now (a monitor reads its layers at it)."""
    return _settle()


def due(monitor: Any) -> bool:
    """Should the coming monitored step look at the layout again?"""
    if monitor.steps >= monitor.layout_check_at:
        return True
    if naming.recent or naming.recent_overflow[0]:
        _settle()
    return bool(_state["generation"] != monitor.tree_generation)


def frozen_flags(layout: "naming.Layout") -> List[bool]:
    """Per layer: every parameter has requires_grad False (the script froze it)."""
    return [bool(layer.params) and not any(p.requires_grad for p in layer.params) for layer in layout.layers]


def _signature(layout: "naming.Layout") -> List[Tuple[str, Tuple[int, ...]]]:
    return [(layer.name, tuple(id(p) for p in layer.params)) for layer in layout.layers]


def _modules_left(layout: "naming.Layout") -> bool:
    """A layer's module is no longer inside the roots it was found in (replaced or deleted)."""
    inside = {id(m) for root in layout.root_modules for m in root.modules()}
    return any(layer.module is not None and not layer.detached and id(layer.module) not in inside for layer in layout.layers)


def check(monitor: Any, all_monitors: List[Any]) -> Optional[Tuple["naming.Layout", str]]:
    """The new layout and why it changed ("param-groups", "modules", "requires-grad"), or None. Queues
    the `unoptimized-params` facts of modules that started receiving gradients outside every optimizer."""
    from . import facts

    monitor.layout_check_at = monitor.steps + SCAN_EVERY
    generation = _settle()
    tree_moved = generation != monitor.tree_generation
    monitor.tree_generation = generation
    layout = monitor.layout
    params = monitor.params()
    unoptimized = facts.queue_unoptimized(monitor, all_monitors, tree_moved)
    reason: Optional[str] = None
    if {id(p) for p in params} != {id(p) for layer in layout.layers for p in layer.params}:
        reason = "param-groups"
    elif tree_moved or unoptimized or _modules_left(layout):
        reason = "modules"
    elif frozen_flags(layout) != monitor.layout_frozen:
        reason = "requires-grad"
    if reason is None:
        return None
    candidates = monitor.models or naming.known_modules()
    new = naming.build_layout(params, candidates, {**monitor.module_names, **naming.variable_names()}, layout)
    if reason != "param-groups" and _signature(new) == _signature(layout) and frozen_flags(new) == monitor.layout_frozen:
        return None
    return new, reason


def layout_fact(monitor: Any, reason: str) -> Dict[str, Any]:
    """The `layout` fact: the run's layers as they are now, each as in the start event, with its role,
    and whether the script froze it or it has left the model (detached)."""
    from .facts import _role
    from .step_facts import layer_facts

    layers = []
    for layer, frozen in zip(monitor.layout.layers, monitor.layout_frozen):
        entry = layer_facts(layer, monitor.activity)
        entry["role"] = _role(layer)
        if frozen:
            entry["frozen"] = True
        if layer.detached:
            entry["detached"] = True
        layers.append(entry)
    return {"kind": "layout", "reason": reason, "parameters": monitor.layout.parameters, "layers": layers}


def install() -> None:
    """Patches Optimizer.add_param_group: a watched optimizer looks at its layout at its next step."""
    if _state["original"] is not None:
        return
    original = torch.optim.Optimizer.add_param_group
    _state["original"] = original

    def add_param_group(self: torch.optim.Optimizer, param_group: Dict[str, Any]) -> None:
        original(self, param_group)
        monitor = getattr(self, "_optiscope", None)
        if monitor is not None:
            monitor.layout_check_at = 0

    torch.optim.Optimizer.add_param_group = add_param_group  # type: ignore[method-assign]


def uninstall() -> None:
    original = _state["original"]
    if original is not None:
        torch.optim.Optimizer.add_param_group = original  # type: ignore[method-assign]
        _state["original"] = None

