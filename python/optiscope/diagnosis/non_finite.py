"""Mirror of src/engine/monitors/detectors/non-finite.ts, plus what only PyTorch can tell: the first
parameter whose gradient or value is NaN/Inf and the first module (in execution order) whose output was."""
import math
from typing import Optional

from .board import Finding, WarningBoard
from .view import View, fmt, optimizer_path, round2

WHY = ("Floating point overflows once the parameters or the loss leave the range of the float type (or an operation such as "
       "log(0) produces NaN); from then on every update is NaN and training cannot recover.")


class NonFiniteDetector:
    def __init__(self, board: WarningBoard) -> None:
        self.board = board
        self.first_step: Optional[int] = None

    @property
    def diverged(self) -> bool:
        return self.first_step is not None

    def report(self, v: View, params_bad: bool, first_param: Optional[str] = None, first_module: Optional[str] = None) -> bool:
        if self.first_step is not None:
            return False
        loss_bad = not math.isfinite(v.loss)
        grad_bad = not math.isfinite(v.grad_norm)
        if not loss_bad and not grad_bad and not params_bad:
            return False
        self.first_step = v.step
        layer = None
        where = "loss" if loss_bad else "gradient" if grad_bad else "parameters"
        for i, l in enumerate(v.layers):
            if v.stats.grad_non_finite[i] or v.stats.param_non_finite[i]:
                layer = l.name
                where = "gradient" if v.stats.grad_non_finite[i] else "parameters"
                break
        if first_module:
            # PyTorch tells more than the engine's layer scan: the first module (in execution order) whose
            # output went bad is where the NaN was born; everything after it, and every gradient, follows.
            for l in v.layers:
                if l.name == first_module or first_module.startswith(l.name + ".") or l.name.startswith(first_module + "."):
                    layer = l.name
                    break
        h = v.history
        rose = h.last_finite_loss >= v.rules["lrTooHigh"]["riseOverMin"] * h.min_smoothed_or_first()
        fix = {"path": optimizer_path(v, "lr"), "value": round2(v.optimizer.lr / 10)} if rose else {"path": "training.clip.norm", "value": 1}
        x = v.loss if where == "loss" else v.grad_norm
        described = "non-finite" if where == "parameters" else ("NaN" if math.isnan(x) else fmt(x))
        extra = ""
        evidence = {"firstStep": v.step, "where": where, "loss": v.loss, "gradNorm": v.grad_norm, "lastFiniteLoss": h.last_finite_loss,
                    "initialLoss": h.initial_loss, "lossGrowth": h.last_finite_loss / h.initial_loss if h.initial_loss else math.nan}
        if layer:
            evidence["firstLayer"] = layer
        if first_param:
            evidence["parameter"] = first_param
            extra += f" The first parameter affected is {first_param}."
        if first_module:
            evidence["module"] = first_module
            extra += f" The first module whose output went NaN/Inf is {first_module}."
        self.board.observe("non-finite", layer, Finding(
            "non-finite", "error",
            f"The {where} became {described} at step {v.step}{f' (first in {layer})' if layer else ''}; the run has diverged.{extra}",
            evidence, WHY, layer=layer, fix=fix,
        ), v.step, 1)
        return True
