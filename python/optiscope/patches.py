"""Undoing the bridge's wrappers of `optimizer.step()` (hooks.py's monitor wrapper on torch 1.x, the --set
clipping wrapper of overrides.py), so that an uninstalled bridge leaves the optimizer as it found it."""
from typing import Any, List

import torch


def unwrap_step(optimizer: torch.optim.Optimizer, wrapper: Any, original: Any, had_own: bool, live: List[bool]) -> None:
    """Undoes an instance-level wrapper of optimizer.step(). When it is still the outermost, the step before
    it comes back (the class's, or the instance's own); when something wrapped it since (torch 1.x's LR
    schedulers count the optimizer's steps that way), that wrapper is the user's and stays, and ours only
    passes through (`live` cleared)."""
    live[0] = False
    if getattr(vars(optimizer).get("step"), "__func__", None) is wrapper:
        if had_own:
            optimizer.step = original  # type: ignore[method-assign]
        else:
            del optimizer.step  # the class's step again
