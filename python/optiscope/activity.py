"""Forward hooks: which module's output first went NaN/Inf, the fraction of dead ReLU units and of
saturated sigmoid/tanh units. Everything stays on the device as 0-d tensors until the step's single
transfer; the hooks never synchronise.

An activation module is attributed to the parameter layer registered just before it (the Linear or
Conv that feeds it, as in `nn.Sequential(Linear, ReLU, ...)`). Activations called as functions
(`F.relu(x)`) have no module and cannot be seen.
"""
from typing import Any, Callable, List, Optional, Tuple

import torch
from torch import nn

from .naming import Layout

DEAD_KINDS = (nn.ReLU, nn.ReLU6)
SATURATING = (nn.Sigmoid, nn.Tanh, nn.Hardtanh)


def _never_raises(hook: Callable[..., None]) -> Callable[..., None]:
    """A forward hook that fails (an exotic output type) records nothing instead of breaking the model."""

    def safe(*args: Any) -> None:
        try:
            hook(*args)
        except Exception:  # noqa: BLE001
            pass

    return safe


def _unit_active(out: torch.Tensor) -> Optional[torch.Tensor]:
    """Per-unit "was ever positive in this batch": units are the last dimension of (N, F) and
    (N, L, F) tensors and the channel dimension of (N, C, H[, W]) ones."""
    if out.dim() in (2, 3):
        return (out > 0).reshape(-1, out.shape[-1]).any(dim=0)
    if out.dim() >= 4:
        return (out > 0).transpose(0, 1).reshape(out.shape[1], -1).any(dim=1)
    return None


class ActivityProbe:
    def __init__(self, layout: Layout, enabled: Callable[[], bool], min_batch: int = 1) -> None:
        self.min_batch = min_batch
        self.enabled = enabled
        self.module_flags: List[Tuple[str, torch.Tensor]] = []
        self.dead_layers: set = set()
        self.saturating_layers: set = set()
        self.batch_rows = 0  # examples in the last observed batch (dead units need enough of them)
        self._activity: dict = {}
        self._handles: List[Any] = []
        for root in layout.root_modules:
            self._attach(root, layout)

    def _attach(self, root: nn.Module, layout: Layout) -> None:
        layer_names = {layer.name for layer in layout.layers}
        current: Optional[str] = None
        for name, mod in root.named_modules():
            if name in layer_names:
                current = name
            if not any(True for _ in mod.children()):  # leaf: check its output is finite
                self._handles.append(mod.register_forward_hook(self._finite_hook(name or type(mod).__name__)))
            if current is not None and isinstance(mod, DEAD_KINDS):
                self.dead_layers.add(current)
                self._handles.append(mod.register_forward_hook(self._dead_hook(current)))
            elif current is not None and isinstance(mod, SATURATING):
                self.saturating_layers.add(current)
                self._handles.append(mod.register_forward_hook(self._sat_hook(current, isinstance(mod, nn.Sigmoid))))

    def _finite_hook(self, name: str) -> Callable[..., None]:
        @_never_raises
        def hook(_m: nn.Module, _inp: Any, out: Any) -> None:
            if self.enabled() and isinstance(out, torch.Tensor) and out.is_floating_point():
                # A sum is NaN/Inf exactly when some element is (or when it overflows, which is where
                # the values are headed anyway): one pass without a boolean temporary.
                self.module_flags.append((name, out.detach().sum()))

        return hook

    def _dead_hook(self, layer: str) -> Callable[..., None]:
        @_never_raises
        def hook(_m: nn.Module, _inp: Any, out: Any) -> None:
            # Too few examples say nothing about a unit being dead (rules.json deadUnits.minBatch).
            if self.enabled() and isinstance(out, torch.Tensor) and out.dim() >= 2:
                self.batch_rows = int(out.shape[0])
                active = _unit_active(out.detach())
                if active is not None:
                    # The count of active units; the fraction 1 − count/units is taken on the host
                    # (the same correctly rounded division as the float64 mean on the device).
                    self._activity[(layer, "dead")] = (active.sum(), active.numel())

        return hook

    def _sat_hook(self, layer: str, sigmoid: bool) -> Callable[..., None]:
        # As the engine (src/engine/nn/activations.ts SATURATION): a unit is saturated where its slope
        # is nearly flat, judged on the output: sigmoid outside [0.01, 0.99], tanh with |y| > 0.99.
        @_never_raises
        def hook(_m: nn.Module, _inp: Any, out: Any) -> None:
            if self.enabled() and isinstance(out, torch.Tensor) and out.numel():
                y = out.detach()
                flat = ((y < 0.01) | (y > 0.99)) if sigmoid else (y.abs() > 0.99)
                self._activity[(layer, "saturated")] = (flat.sum(), flat.numel())

        return hook

    def take(self) -> Tuple[List[Tuple[str, torch.Tensor]], List[Tuple[str, str, torch.Tensor, int]]]:
        """The flags and the activity counts gathered since the last step, in execution order; then
        reset. Each activity entry is (layer, kind, count tensor, units): the fraction is count/units
        (dead: 1 − active/units)."""
        flags = self.module_flags
        act = [(layer, kind, t, n) for (layer, kind), (t, n) in self._activity.items()]
        self.module_flags = []
        self._activity = {}
        return flags, act

    def close(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
