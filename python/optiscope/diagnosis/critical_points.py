"""Mirror of src/engine/monitors/detectors/critical-points.ts: saddle-point, plateau, sharp-minimum."""
import math
from typing import Optional

from .board import Finding, WarningBoard
from .history import finite
from .view import View, fmt, gradient_small, loss_still_high, progress_slow, stability_edge

WHY_SADDLE = ("At a saddle the gradient vanishes although a descent direction exists (the eigenvector of the negative eigenvalue); "
              "gradient descent leaves it only as fast as noise or a tiny offset along that direction grows, and from exactly on the ridge never.")
WHY_PLATEAU = ("On a plateau the gradient and every curvature are tiny, so each step moves the loss by almost nothing; "
               "training only crawls until the region ends.")
WHY_SHARP = ("Gradient descent can settle only where lr·λ_max < 2; a minimum whose sharpness sits near that edge is barely stable "
             "for the step size, and sharp minima tend to generalise worse than flat ones.")
# Bridge only: what to do when no curvature could be measured.
HOW_TO_PROBE = ("call optiscope.watch(model, optimizer, closure=lambda: loss_fn(model(x), y)) in the script to let the curvature "
                "probe tell a plateau from a saddle point")


# How far the gradient must grow past its size at a reported saddle or plateau to count as having left it.
ESCAPE_GRADIENT_FACTOR = 10.0
# How far below the critical point's own loss (as a fraction of it) the run must be to have left it.
ESCAPE_MARGIN = 0.25


class CriticalPointDetector:
    def __init__(self, board: WarningBoard) -> None:
        self.board = board

    def evaluate_escape(self, v: View) -> None:
        """Mirrors critical-points.ts evaluateEscape: a saddle or plateau is resolved once the run has left it
        (gradient 10x its size there while the loss fell, or the loss clearly below the point's own value, which a
        quadratic model puts at loss - g^2/(2 lambda_max))."""
        for kind in ("saddle-point", "plateau"):
            f = self.board.live_finding(kind)
            if f is None:
                continue
            g0 = f.evidence.get("gradNorm")
            loss0 = f.evidence.get("loss")
            if not isinstance(g0, (int, float)) or not isinstance(loss0, (int, float)):
                continue
            lmax_raw = f.evidence.get("lambdaMax")
            lmax = lmax_raw if isinstance(lmax_raw, (int, float)) and lmax_raw > 0 else math.inf
            loss = v.history.smoothed()
            grew = math.isfinite(v.grad_norm) and v.grad_norm > ESCAPE_GRADIENT_FACTOR * max(g0, 1e-12) and loss < loss0
            drop = (g0 * g0) / (2 * lmax)
            critical = loss0 - drop
            fell = loss < critical - (ESCAPE_MARGIN * abs(critical) + drop)
            if grew or fell:
                self.board.resolve(kind, None, v.step)

    def evaluate(self, v: View) -> None:
        p = v.probe
        if p is None or p.step != v.step:
            return
        near_critical = p.near_critical
        abs_max = max(abs(p.lambda_max), abs(p.lambda_min))
        r = v.rules
        lr_eff = p.lr_eff
        negative = p.lambda_min < -r["saddlePoint"]["negativeRatio"] * abs_max and lr_eff * -p.lambda_min >= r["saddlePoint"]["flat"]
        flat_all = lr_eff * abs_max < r["plateau"]["flat"]
        flat_direction = not negative and lr_eff * abs(p.lambda_min) < r["plateau"]["flat"]
        high = loss_still_high(v, r["saddlePoint"].get("highLoss", r["plateau"]["highLoss"]))
        stuck = v.full_batch or progress_slow(v)
        probes = r["saddlePoint"].get("probes", 1)
        evidence = {"lambdaMin": p.lambda_min, "lambdaMax": p.lambda_max, "gradNorm": v.grad_norm,
                    "maxGradNorm": v.history.max_grad_norm, "loss": v.loss, "lrSharpness": p.lr_sharpness, "hvps": p.hvps,
                    "trigger": p.trigger}

        saddle: Optional[Finding] = None
        if near_critical and negative and high and stuck:
            saddle = Finding(
                "saddle-point", "warning",
                f"Stuck near a saddle point: the gradient is small ({fmt(v.grad_norm)}) but the curvature is negative along one direction "
                f"(λ_min = {fmt(p.lambda_min)}, λ_max = {fmt(p.lambda_max)}).",
                evidence, WHY_SADDLE, key=["lambdaMin", "lambdaMax"],
            )
        self.board.observe("saddle-point", None, saddle, v.step, probes)

        plateau: Optional[Finding] = None
        if near_critical and stuck and (flat_all or (flat_direction and progress_slow(v))) and loss_still_high(v, r["plateau"]["highLoss"]):
            zero_weights = len(v.stats.weight_norm) > 1 and v.stats.weight_norm[0] == 0
            msg = (f"On a plateau: the gradient is small and every curvature is negligible for this step size "
                   f"(lr·max|λ| = {fmt(lr_eff * abs_max)}), while the loss is still {fmt(v.history.smoothed())}."
                   if flat_all else
                   f"Stuck on a flat, degenerate critical point{' (the weights are still all zero: a symmetric initialisation)' if zero_weights else ''}: "
                   f"the gradient has vanished and the lowest curvature is {fmt(p.lambda_min)}, with no direction of descent to follow, "
                   f"while the loss is still {fmt(v.history.smoothed())}.")
            plateau = Finding("plateau", "warning", msg, {**evidence, "lrTimesMaxAbsLambda": lr_eff * abs_max}, WHY_PLATEAU,
                              fix={"path": "training.optimizer.name", "value": "adam"} if v.optimizer.name == "sgd" else None,
                              key=["loss"])
        self.board.observe("plateau", None, plateau, v.step, probes)

        sharp: Optional[Finding] = None
        sharp_applies = finite(stability_edge(v.optimizer))
        if sharp_applies and near_critical and not negative and not flat_all and p.lr_sharpness >= r["sharpMinimum"]["lrSharpness"] \
                and p.lambda_max > 0:
            sharp = Finding(
                "sharp-minimum", "info",
                f"Converging into a sharp minimum: λ_max = {fmt(p.lambda_max)}, so lr·λ_max = {fmt(p.lr_sharpness)} is close to the stability edge 2.",
                evidence, WHY_SHARP, key=["lambdaMax"],
            )
        self.board.observe("sharp-minimum", None, sharp, v.step, probes)

    def evaluate_without_curvature(self, v: View, probe_possible: bool) -> None:
        holds = gradient_small(v) and progress_slow(v) and loss_still_high(v, v.rules["plateau"]["highLoss"])
        how = ("the curvature probe could not replay this script's batch; " + HOW_TO_PROBE) if not probe_possible else \
            "the curvature probe will look at the Hessian to tell a plateau from a saddle point"
        f = Finding(
            "plateau", "warning",
            f"The loss has stalled at {fmt(v.history.smoothed())} with a small gradient ({fmt(v.grad_norm)}); {how}.",
            {"gradNorm": v.grad_norm, "maxGradNorm": v.history.max_grad_norm, "loss": v.history.smoothed(), "curvature": False},
            WHY_PLATEAU,
        ) if holds else None
        self.board.observe("plateau", None, f, v.step, max(v.rules["persist"], v.window))
