"""Mirror of src/engine/monitors/detectors/learning-rate.ts: lr-too-high, lr-too-low, effective-lr-collapse."""
import math
from typing import Dict, Optional

from .board import Finding, WarningBoard
from .history import finite
from .view import (View, fmt, gradient_small, is_adaptive, loss_still_high, optimizer_path, progress_slow, round2,
                   stability_edge, suggested_lr)

WHY_HIGH = ("Gradient descent on a quadratic is stable only while lr·λ_max < 2 (each step multiplies the error along the sharpest "
            "direction by |1 − lr·λ|); past that edge the loss oscillates and grows instead of falling.")
WHY_LOW = ("Each update moves the weights by a tiny fraction of their size although the curvature would allow far larger steps, "
           "so the loss falls too slowly to finish in the planned steps.")
WHY_COLLAPSE = ("Adagrad divides by the square root of the sum of all past squared gradients, which only grows: the effective step "
                "shrinks like 1/√t and training stalls long before a minimum (RMSprop and Adam forget old gradients instead).")


def _gt(a: float, b: float) -> bool:
    return not (math.isnan(a) or math.isnan(b)) and a > b


class LearningRateDetector:
    def __init__(self, board: WarningBoard) -> None:
        self.board = board
        self.past_edge_at: Optional[int] = None

    def evaluate(self, v: View) -> None:
        self._too_high(v)
        self._collapse(v)
        self._too_low(v)

    def _curvature_evidence(self, v: View) -> Dict[str, float]:
        p = v.probe
        return {"lambdaMax": p.lambda_max, "lrSharpness": p.lr_sharpness, "probeStep": p.step} if p else {}

    def at_divergence(self, v: View) -> None:
        h = v.history
        mn = h.min_smoothed_or_first()
        past_edge = self.past_edge_at is not None
        rose = finite(h.last_finite_loss) and h.last_finite_loss - mn >= (v.rules["lrTooHigh"]["riseOverMin"] - 1) * abs(mn) \
            and h.last_finite_loss > mn
        grad_grew = h.growth_run >= 2 or h.max_grad_norm >= v.rules["explodingGradient"]["growthOverStart"] * h.first_grad_norm
        fell = finite(h.last_finite_loss) and h.last_finite_loss < mn
        if (not rose and not past_edge and not (grad_grew and not fell)) or self.board.any_live("lr-too-high"):
            return
        msg = (f"The loss rose from {fmt(mn)} to {fmt(h.last_finite_loss)} and then diverged at step {v.step}: the learning rate {fmt(v.lr)} is past what this problem tolerates."
               if rose else
               f"The run diverged at step {v.step} after the gradient grew step by step: the learning rate {fmt(v.lr)} is past what this problem tolerates.")
        self.board.observe("lr-too-high", None, Finding(
            "lr-too-high", "error", msg,
            {"lr": v.lr, "minLoss": mn, "lastFiniteLoss": h.last_finite_loss, "rule": "divergence", **self._curvature_evidence(v)},
            WHY_HIGH, fix={"path": optimizer_path(v, "lr"), "value": suggested_lr(v, 0.1)},
        ), v.step, 1)

    def _too_high(self, v: View) -> None:
        r = v.rules["lrTooHigh"]
        h = v.history
        edge = stability_edge(v.optimizer)
        p = v.probe
        sharp = v.lr * p.lambda_max if p is not None and finite(edge) else math.nan
        if _gt(sharp, edge):
            if self.past_edge_at is None:
                self.past_edge_at = v.step
        elif not math.isnan(sharp) and sharp <= edge:
            self.past_edge_at = None
        mn = h.min_smoothed_or_first()
        now = h.smoothed()
        rising = (len(h.loss) >= v.window and now > mn and now - mn >= (r["riseOverMin"] - 1) * abs(mn)
                  and now - mn >= r.get("riseMaterial", 0) * abs(h.initial_loss - mn) and abs(mn) > 0)
        pps = h.progress_per_step(v.loss_floor)
        oscillating = (v.full_batch and v.window >= r["oscillationMinSteps"] and len(h.loss) >= v.window + 2
                       and h.flip_fraction() >= r["oscillationFlips"] and not (pps > 0))
        clearly_past = _gt(sharp, edge * r["edgeUnconfirmed"] / 2)
        confirmed_edge = _gt(sharp, edge) and (rising or oscillating or clearly_past)
        f: Optional[Finding] = None
        if confirmed_edge or rising or oscillating:
            rule = "edge-of-stability" if confirmed_edge else "rising" if rising else "oscillation"
            if confirmed_edge:
                msg = (f"lr·λ_max = {fmt(sharp)} is past {fmt(edge)}, the stability edge of {v.optimizer.name}: steps overshoot along "
                       f"the sharpest direction (λ_max = {fmt(p.lambda_max if p else math.nan)}).")
            elif rising:
                msg = f"The loss is rising: its recent mean {fmt(now)} is {fmt(now / mn)}× its best {fmt(mn)}."
            else:
                msg = f"The loss oscillates without decreasing ({round(h.flip_fraction() * 100)}% of recent steps change direction)."
            f = Finding(
                "lr-too-high", "error" if rising or clearly_past else "warning", msg,
                {"lr": v.lr, "rule": rule, "recentLoss": now, "bestLoss": mn, "flipFraction": h.flip_fraction(), "edge": edge,
                 **self._curvature_evidence(v)},
                WHY_HIGH, fix={"path": optimizer_path(v, "lr"), "value": suggested_lr(v, 0.1)}, key=["lr", "lrSharpness"],
            )
        self.board.observe("lr-too-high", None, f, v.step, 1 if confirmed_edge and clearly_past else v.rules["persist"])

    def _collapse(self, v: View) -> None:
        if not is_adaptive(v.optimizer):
            return
        r = v.rules["effectiveLrCollapse"]
        monotone = v.optimizer.name in ("adagrad", "amsgrad")
        drop = v.eff_lr_p50 / v.eff_lr_p50_peak if v.eff_lr_p50_peak > 0 else math.nan
        eff = v.step_efficiency / v.step_efficiency_peak if v.step_efficiency_peak > 0 else math.nan
        collapsed = (not math.isnan(drop) and drop <= r["dropFromPeak"]) or (monotone and not math.isnan(eff) and eff <= r["stepEfficiencyDrop"])
        holds = collapsed and loss_still_high(v, r["highLoss"]) and progress_slow(v)
        f: Optional[Finding] = None
        if holds:
            fix = ({"path": optimizer_path(v, "lr"), "value": round2(v.optimizer.lr * 10)} if v.optimizer.name in ("adam", "adamw")
                   else {"path": optimizer_path(v, "name"), "value": "adam"})
            f = Finding(
                "effective-lr-collapse", "warning",
                f"{v.optimizer.name}'s effective learning rate has collapsed: the median step per unit gradient is {fmt(v.eff_lr_p50)} "
                f"({fmt(drop)} of its peak) and steps are {fmt(eff)} of their first size, while the loss is still {fmt(v.history.smoothed())}.",
                {"effLrP50": v.eff_lr_p50, "effLrP50Peak": v.eff_lr_p50_peak, "effLrP50First": v.eff_lr_p50_first, "dropFromPeak": drop,
                 "stepEfficiency": v.step_efficiency, "stepEfficiencyPeak": v.step_efficiency_peak, "loss": v.history.smoothed(),
                 "initialLoss": v.history.initial_loss},
                WHY_COLLAPSE, fix=fix, key=["effLrP50"],
            )
        self.board.observe("effective-lr-collapse", None, f, v.step, max(v.rules["persist"], math.ceil(v.window / 2)))

    def _too_low(self, v: View) -> None:
        r = v.rules["lrTooLow"]
        adaptive = is_adaptive(v.optimizer)
        edge = stability_edge(v.optimizer)
        p = v.probe
        sharp = v.lr * p.lambda_max if p is not None and finite(edge) else math.nan
        curvature_says_low = (sharp < r["lrSharpness"] * edge / 2) if finite(sharp) else (v.update_ratio < r["updateRatio"])
        tiny = v.update_ratio < r["updateRatio"]
        collapse_live = self.board.is_live("effective-lr-collapse")
        holds = (not collapse_live and not gradient_small(v) and loss_still_high(v, r["highLoss"]) and progress_slow(v)
                 and (tiny if adaptive else curvature_says_low))
        f: Optional[Finding] = None
        if holds:
            suggestion = round2(v.optimizer.lr * 10) if adaptive or not finite(sharp) else suggested_lr(v, 10)
            msg = (f"The learning rate {fmt(v.lr)} is far below what the curvature allows (lr·λ_max = {fmt(sharp)}, stable up to {fmt(edge)}) "
                   "and the loss is falling too slowly to finish."
                   if finite(sharp) and not adaptive else
                   f"Updates are {fmt(v.update_ratio)} of the weights' size per step and the loss is falling too slowly to finish: "
                   f"the learning rate {fmt(v.lr)} is too small.")
            f = Finding(
                "lr-too-low", "warning", msg,
                {"lr": v.lr, "updateRatio": v.update_ratio, "progressPerStep": v.history.progress_per_step(v.loss_floor),
                 "loss": v.history.smoothed(), "initialLoss": v.history.initial_loss, **self._curvature_evidence(v)},
                WHY_LOW, fix={"path": optimizer_path(v, "lr"), "value": suggestion}, key=["lr"],
            )
        self.board.observe("lr-too-low", None, f, v.step, max(v.rules["persist"], math.ceil(v.window / 2)))
