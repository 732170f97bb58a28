"""The bridge's detectors (a port of the engine's) on hand-made statistics, with explicit thresholds
written here, and a check that the shipped rules.json has every field the port reads."""
import os as _os, sys as _sys  # noqa: E401 - the package lives next to this folder
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import math
import unittest
from typing import Any, Dict, List, Optional

from optiscope.diagnosis.suite import Suite
from optiscope.diagnosis.view import Layer, OptimizerSpec, Stats
from optiscope.rules import load_rules, window_for

RULES: Dict[str, Any] = {
    "window": {"fraction": 0.05, "min": 5, "max": 50},
    "persist": 3,
    "resolveAfter": 4,
    "materialChange": 9,
    "slowHalvings": 1,
    "vanishingGradient": {"rmsRatio": 0.01, "minLayers": 3},
    "explodingGradient": {"rmsRatio": 100, "minLayers": 3, "absNorm": 1000, "growthFactor": 2, "growthSteps": 4, "growthOverStart": 10},
    "curvature": {"smallGradient": 0.05, "smallGradientAbs": 1e-6, "minGapFraction": 0.05, "minGap": 10, "autoBudgetFraction": 0.1},
    "saddlePoint": {"negativeRatio": 0.05, "flat": 0.001, "highLoss": 0.2, "probes": 1},
    "plateau": {"flat": 0.001, "highLoss": 0.5},
    "lrTooHigh": {"riseOverMin": 2, "riseMaterial": 0.05, "edgeUnconfirmed": 4, "oscillationFlips": 0.8, "oscillationMinSteps": 10},
    "lrTooLow": {"lrSharpness": 0.02, "updateRatio": 0.0001, "highLoss": 0.2},
    "deadUnits": {"fraction": 0.5, "minBatch": 8},
    "saturatedUnits": {"fraction": 0.5},
    "effectiveLrCollapse": {"dropFromPeak": 0.1, "stepEfficiencyDrop": 0.05, "highLoss": 0.2},
    "sharpMinimum": {"lrSharpness": 1.5},
}

SOURCES = {"l0": ("train.py", 5), None: ("train.py", 12)}


def make(opt: str = "sgd", total: int = 100, layers: int = 3, can_die: bool = False):
    events: List[Dict[str, Any]] = []
    ls = [Layer(f"l{i}", 100, can_die=can_die and i == 0) for i in range(layers)]
    suite = Suite(RULES, lambda: OptimizerSpec(opt, 0.1), ls, total, events.append,
                  lambda name: SOURCES.get(name) or SOURCES[None])
    return suite, events


def stats(grads: List[float], update: float = 1e-2, dead: Optional[float] = None) -> Stats:
    n = len(grads)
    return Stats(grad_norm=grads, weight_norm=[1.0] * n, update_norm=[update] * n, eff_p50=[0.1] * n,
                 grad_non_finite=[not math.isfinite(g) for g in grads], param_non_finite=[False] * n,
                 dead=[dead if (dead is not None and i == 0) else 0.0 for i in range(n)], saturated=[0.0] * n,
                 has_activity=dead is not None)


def step(suite: Suite, t: int, loss: float, grads: List[float], **kw: Any) -> Optional[str]:
    gn = math.sqrt(sum(g * g for g in grads))
    return suite.after_step(t, loss, 0.1, gn, stats(grads, **{k: v for k, v in kw.items() if k in ("update", "dead")}), 300,
                            kw.get("batch", 64), False, kw.get("param"), kw.get("module"), probe_available=kw.get("probe", True))


class SuiteTest(unittest.TestCase):
    def test_healthy_run_gets_nothing(self):
        suite, events = make()
        for t in range(1, 101):
            loss = 2.0 * math.exp(-t / 20) * (1 + 0.05 * (-1) ** t)
            step(suite, t, loss, [0.5, 0.8, 1.0], probe=False)
        self.assertEqual([e for e in events if e["type"] == "warning"], [])

    def test_vanishing_after_persist_on_onset_layer_with_its_source(self):
        suite, events = make()
        for t in range(1, 7):
            step(suite, t, 1.0 - 0.01 * t, [1e-6, 1e-5, 1.0])
            if t == 2:
                self.assertEqual(events, [])
        warns = [e for e in events if e["type"] == "warning"]
        self.assertEqual([(e["kind"], e["layer"], e["step"]) for e in warns], [("vanishing-gradient", "l1", 3)])
        self.assertEqual(warns[0]["id"], "vanishing-gradient:l1")
        self.assertEqual(warns[0]["source"], {"file": "train.py", "line": 12})  # l1 has no line of its own: the optimizer's
        self.assertLess(warns[0]["evidence"]["ratio"], 0.01)

    def test_vanishing_needs_min_layers(self):
        suite, events = make(layers=2)
        for t in range(1, 8):
            step(suite, t, 1.0 - 0.01 * t, [1e-6, 1.0])
        self.assertEqual(events, [])

    def test_warning_resolves_after_resolve_after_clean_steps(self):
        suite, events = make()
        for t in range(1, 4):
            step(suite, t, 1.0 - 0.01 * t, [1e-6, 1e-5, 1.0])
        for t in range(4, 10):
            step(suite, t, 1.0 - 0.01 * t, [0.5, 0.6, 1.0])
        self.assertEqual([(e["kind"], e["status"], e["step"]) for e in events],
                         [("vanishing-gradient", "active", 3), ("vanishing-gradient", "resolved", 7)])

    def test_growing_gradient_then_divergence(self):
        suite, events = make()
        t = 0
        for t in range(1, 8):
            step(suite, t, 1.0 * 4.0**t, [0.5 * 3.0**t, 0.8 * 3.0**t, 1.0 * 3.0**t])
        step(suite, t + 1, math.inf, [math.nan, 1.0, 1.0], param="l0.weight", module="net.1")
        kinds = [(e["kind"], e["step"]) for e in events]
        self.assertIn(("exploding-gradient", 5), kinds)  # growth: reported at once after 4 doublings
        nf = [e for e in events if e["kind"] == "non-finite"]
        self.assertEqual(len(nf), 1)
        self.assertEqual(nf[0]["layer"], "l0")
        self.assertEqual(nf[0]["evidence"]["parameter"], "l0.weight")
        self.assertEqual(nf[0]["evidence"]["module"], "net.1")
        self.assertEqual(nf[0]["source"], {"file": "train.py", "line": 5})
        high = [e for e in events if e["kind"] == "lr-too-high"]
        self.assertEqual(len(high), 1)
        self.assertEqual(high[0]["fix"], {"path": "training.optimizer.lr", "value": 0.01})
        self.assertEqual(high[0]["source"], {"file": "train.py", "line": 12})
        self.assertTrue(suite.diverged)

    def test_rising_loss_is_lr_too_high(self):
        suite, events = make()
        for t in range(1, 30):
            loss = 1.0 / t if t <= 10 else 0.1 * 1.3 ** (t - 10)
            step(suite, t, loss, [0.5, 0.8, 1.0], probe=False)
        high = [e for e in events if e["kind"] == "lr-too-high" and e["status"] == "active"]
        self.assertTrue(high)
        self.assertEqual(high[0]["evidence"]["rule"], "rising")

    def test_dead_units_need_a_large_enough_batch(self):
        for batch, expected in ((64, [("dead-units", "l0")]), (4, [])):
            suite, events = make(can_die=True)
            for t in range(1, 5):
                step(suite, t, 1.0 - 0.01 * t, [0.5, 0.8, 1.0], dead=0.75, batch=batch)
            self.assertEqual([(e["kind"], e["layer"]) for e in events], expected, batch)

    def test_probe_separates_saddle_from_minimum(self):
        for lam_min, expected in ((-1.0, True), (0.5, False)):
            suite, events = make()
            trigger = None
            t = 0
            for t in range(1, 40):
                trigger = step(suite, t, 0.9 + 1e-6 * (-1) ** t, [0.5, 0.8, 1.0 if t < 5 else 1e-3]) or trigger
                if trigger:
                    break
            self.assertIn(trigger, ("small-gradient", "stall"))
            events.append(suite.on_probe(t, [lam_min, 0.2, 4.0], 3, trigger, 0.1))
            suite.judge_probe()
            kinds = [e.get("kind") for e in events if e["type"] == "warning"]
            self.assertEqual("saddle-point" in kinds, expected, kinds)
            hess = [e for e in events if e["type"] == "hessian"][0]
            self.assertEqual((hess["lambdaMin"], hess["lambdaMax"]), (lam_min, 4.0))

    def test_window(self):
        self.assertEqual(window_for(100, RULES), 5)
        self.assertEqual(window_for(500, RULES), 25)
        self.assertEqual(window_for(10**6, RULES), 50)

    def test_shipped_rules_have_every_field_the_port_reads(self):
        rules = load_rules()
        self.assertIsNotNone(rules, "rules.json not found next to the package")
        for key, value in RULES.items():
            self.assertIn(key, rules)
            if isinstance(value, dict):
                for sub in value:
                    self.assertIn(sub, rules[key], f"{key}.{sub}")


if __name__ == "__main__":
    unittest.main()
