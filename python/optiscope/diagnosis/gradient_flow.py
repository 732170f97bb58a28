"""Mirror of src/engine/monitors/detectors/gradient-flow.ts: vanishing-gradient and exploding-gradient."""
import math
from typing import Optional

from .board import Finding, WarningBoard
from .history import finite
from .view import View, fmt, optimizer_path, round2

WHY_VANISH = ("Backpropagation multiplies one Jacobian per layer; when each shrinks the signal (sigmoid's slope is at most 1/4, "
              "small weights), the first layers receive almost no gradient and stop learning while the last ones fit.")
WHY_EXPLODE = ("When each layer's Jacobian enlarges the signal, the gradient grows geometrically with depth or over steps; "
               "a step of lr × a huge gradient throws the weights far past any minimum.")


def _rms(v: View, i: int) -> float:
    size = v.layers[i].size
    return v.stats.grad_norm[i] / math.sqrt(size) if size > 0 else 0.0


class GradientFlowDetector:
    def __init__(self, board: WarningBoard) -> None:
        self.board = board
        self.vanish_layer: Optional[int] = None
        self.explode_layer: Optional[int] = None

    def evaluate(self, v: View) -> None:
        if not v.network or not v.stats_fresh:
            return
        L = len(v.layers)
        r = v.rules
        last = L - 1
        last_rms = _rms(v, last)
        first_rms = _rms(v, 0)
        deep = L >= r["vanishingGradient"]["minLayers"]
        ratio = first_rms / last_rms if last_rms > 0 else math.nan
        persist = max(r["persist"], math.ceil(v.window / 2))
        names = [l.name for l in v.layers]

        vanish: Optional[Finding] = None
        if deep and finite(ratio) and ratio < r["vanishingGradient"]["rmsRatio"]:
            onset = 0
            for i in range(last - 1, -1, -1):
                if _rms(v, i) < r["vanishingGradient"]["rmsRatio"] * last_rms:
                    onset = i
                    break
            if self.vanish_layer is None or not self.board.is_live("vanishing-gradient", names[self.vanish_layer]):
                self.vanish_layer = onset
            layer = names[self.vanish_layer]
            zero_init = v.stats.weight_norm[0] == 0
            vanish = Finding(
                "vanishing-gradient", "warning",
                f"Gradients vanish below {layer}: the weights start at zero, so every hidden unit gets the same (zero) gradient and they never differ."
                if zero_init else
                f"Gradients vanish from {layer} down to {names[0]}: per parameter, {names[0]}'s gradient is {fmt(ratio)} of {names[last]}'s.",
                {"firstLayer": names[0], "lastLayer": names[last], "onsetLayer": layer, "firstGradRms": first_rms,
                 "lastGradRms": last_rms, "ratio": ratio, "depth": L, "threshold": r["vanishingGradient"]["rmsRatio"]},
                WHY_VANISH, layer=layer, key=["ratio"],
            )
        self.board.observe("vanishing-gradient", self._name(v, self.vanish_layer), vanish, v.step, persist)

        ex = r["explodingGradient"]
        h = v.history
        depth_explode = deep and finite(ratio) and ratio > ex["rmsRatio"]
        abs_explode = v.grad_norm >= ex["absNorm"]
        growth = h.growth_run >= ex["growthSteps"] and v.grad_norm >= ex["growthOverStart"] * h.first_grad_norm
        explode: Optional[Finding] = None
        if depth_explode or abs_explode or growth:
            worst = 0
            for i in range(1, L):
                if _rms(v, i) > _rms(v, worst):
                    worst = i
            pick = 0 if depth_explode else worst
            if self.explode_layer is None or not self.board.is_live("exploding-gradient", names[self.explode_layer]):
                self.explode_layer = pick
            layer = names[self.explode_layer]
            fix = {"path": optimizer_path(v, "lr"), "value": round2(v.optimizer.lr / 10)} if growth and not depth_explode else None
            if depth_explode:
                msg = f"Gradients explode towards the input: per parameter, {names[0]}'s gradient is {fmt(ratio)}× {names[last]}'s."
            elif growth:
                msg = (f"The gradient norm has grown ≥{fmt(ex['growthFactor'])}× per step for {h.growth_run} steps "
                       f"(now {fmt(v.grad_norm)}, {fmt(v.grad_norm / h.first_grad_norm)}× its start).")
            else:
                msg = f"The gradient norm is {fmt(v.grad_norm)} (largest in {layer}); steps of this size throw the weights far from where they were."
            explode = Finding(
                "exploding-gradient", "error", msg,
                {"gradNorm": v.grad_norm, "firstGradNorm": h.first_grad_norm, "ratio": ratio, "growthSteps": h.growth_run,
                 "layerGradNorm": v.stats.grad_norm[self.explode_layer],
                 "rule": "depth" if depth_explode else "growth" if growth else "magnitude"},
                WHY_EXPLODE, layer=layer, fix=fix, key=["layerGradNorm"],
            )
        self.board.observe("exploding-gradient", self._name(v, self.explode_layer), explode, v.step, 1 if growth else r["persist"])

    def at_divergence(self, v: View) -> None:
        if not v.network:
            return
        h = v.history
        ex = v.rules["explodingGradient"]
        prev = math.nan
        for i in range(len(h.grad_norm)):
            g = h.grad_norm.back(i)
            if finite(g):
                prev = g
                break
        grew = prev >= ex["absNorm"] or prev >= ex["growthOverStart"] * h.first_grad_norm
        if not grew or self.board.any_live("exploding-gradient"):
            return
        layer = v.layers[0].name
        self.board.observe("exploding-gradient", layer, Finding(
            "exploding-gradient", "error",
            f"The gradient grew to {fmt(prev)} ({fmt(prev / h.first_grad_norm)}× its start) before the run diverged.",
            {"lastFiniteGradNorm": prev, "firstGradNorm": h.first_grad_norm, "rule": "divergence"},
            WHY_EXPLODE, layer=layer, fix={"path": "training.clip.norm", "value": 1},
        ), v.step, 1)

    @staticmethod
    def _name(v: View, i: Optional[int]) -> Optional[str]:
        return None if i is None else v.layers[i].name
