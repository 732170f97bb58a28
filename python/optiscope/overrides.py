"""`optiscope run train.py --set training.optimizer.lr=0.01`: a fix tried without editing the script.

The CLI passes the overrides as JSON in OPTISCOPE_SET ({"training.optimizer.lr": 0.01, ...}). Every
optimizer the script creates gets them in each of its param groups (and its defaults), right after
torch's own constructor, so schedulers created later start from the new values; `training.clip.norm`
becomes a clip_grad_norm_ over the optimizer's parameters at the start of each step(). Only facts change here: the
script runs as written otherwise.
"""
import json
import os
import sys
import types
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch

# Config keys whose PyTorch names differ: Adam-like betas are one tuple.
_BETAS = {"beta1": 0, "beta2": 1}


def parse(raw: Optional[str]) -> Dict[str, Any]:
    if not raw:
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("OPTISCOPE_SET must be a JSON object of config paths to values")
    return value


def _split(overrides: Dict[str, Any]) -> Tuple[Dict[str, Any], Optional[float]]:
    hyper: Dict[str, Any] = {}
    clip: Optional[float] = None
    for path, value in overrides.items():
        if path == "training.clip.norm":
            clip = float(value)
        else:
            # training.optimizer.<key> or race.<i>.<key>: a script has one optimizer per construction.
            hyper[path.rsplit(".", 1)[-1]] = value
    return hyper, clip


def apply_to_optimizer(optimizer: torch.optim.Optimizer, overrides: Optional[Dict[str, Any]] = None) -> List[str]:
    """Sets the overridden hyperparameters in every param group; returns the keys the optimizer lacks."""
    hyper, clip = _split(overrides if overrides is not None else current())
    missing: List[str] = []
    for key, value in hyper.items():
        applied = False
        for group in [*optimizer.param_groups, optimizer.defaults]:
            if key in _BETAS and isinstance(group.get("betas"), tuple):
                betas = list(group["betas"])
                betas[_BETAS[key]] = float(value)
                group["betas"] = tuple(betas)
                applied = True
            elif key in group and key != "params":
                group[key] = value
                applied = True
        if not applied:
            missing.append(key)
    for key in missing:
        sys.stderr.write(f"optiscope: --set {key}: {type(optimizer).__name__} has no hyperparameter '{key}'; ignored\n")
    return missing


def wrap_clip(optimizer: torch.optim.Optimizer, overrides: Optional[Dict[str, Any]] = None) -> Optional[Callable[[], None]]:
    """With `training.clip.norm`, step() first clips the gradient of the optimizer's parameters by norm.

    Installed as the outermost wrapper of this optimizer's step (after the monitor's own hooks), so the
    monitor measures and the optimizer applies the clipped gradient, on every torch version. A step with a
    closure computes its gradient inside the step: there is nothing to clip before it. Returns what undoes
    the wrapper (None when there is no clipping to apply)."""
    _hyper, clip = _split(overrides if overrides is not None else current())
    if clip is None:
        return None
    original = optimizer.step
    had_own = "step" in vars(optimizer)
    norm = clip

    def step(self: torch.optim.Optimizer, *args: Any, **kwargs: Any) -> Any:
        if not args and kwargs.get("closure") is None:
            params = [p for g in self.param_groups for p in g["params"] if p.grad is not None]
            if params:
                torch.nn.utils.clip_grad_norm_(params, norm)
        return original(*args, **kwargs)

    optimizer.step = types.MethodType(step, optimizer)  # type: ignore[method-assign]

    def undo() -> None:
        if had_own:
            optimizer.step = original  # type: ignore[method-assign]
        else:
            del optimizer.step  # the class's step again

    return undo


_cache: Optional[Dict[str, Any]] = None


def current() -> Dict[str, Any]:
    """The overrides of this process (read once)."""
    global _cache
    if _cache is None:
        _cache = parse(os.environ.get("OPTISCOPE_SET"))
    return _cache
