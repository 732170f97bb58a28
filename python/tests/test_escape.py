"""The saddle-escape rule of the bridge's port agrees with the engine's (critical-points.ts evaluateEscape)."""
import unittest
from types import SimpleNamespace

from optiscope.diagnosis.board import Finding, WarningBoard
from optiscope.diagnosis.critical_points import CriticalPointDetector


def view(step, loss, grad_norm):
    return SimpleNamespace(step=step, grad_norm=grad_norm, history=SimpleNamespace(smoothed=lambda: loss))


class EscapeTest(unittest.TestCase):
    def setUp(self):
        self.events = []
        self.board = WarningBoard(self.events.append, persist=1, resolve_after=10, material_change=1.0, min_update_gap=1, source_for=lambda layer: None)
        self.det = CriticalPointDetector(self.board)
        saddle = Finding("saddle-point", "warning", "stuck", {"gradNorm": 0.5, "loss": 0.08, "lambdaMax": 2.0}, "why")
        self.board.observe("saddle-point", None, saddle, 26)

    def test_still_at_the_saddle_stays_live(self):
        self.det.evaluate_escape(view(60, 0.01, 0.1))
        self.assertTrue(self.board.is_live("saddle-point"))

    def test_loss_fallen_far_below_resolves_at_once(self):
        # The point's own loss is about 0.08 - 0.25/4 = 0.0175; below 0.0175 - (0.25*0.0175 + 0.0625) = -0.049 is out.
        self.det.evaluate_escape(view(148, -2.5, 4.3))
        self.assertFalse(self.board.is_live("saddle-point"))
        self.assertEqual(self.events[-1]["status"] if isinstance(self.events[-1], dict) else self.events[-1].status, "resolved")

    def test_gradient_grown_while_loss_fell_resolves(self):
        self.det.evaluate_escape(view(100, 0.05, 5.1))
        self.assertFalse(self.board.is_live("saddle-point"))

    def test_converging_onto_the_point_is_not_an_escape(self):
        # Gradient descent settling on the saddle lowers the loss to the point's own value, no further.
        self.det.evaluate_escape(view(120, 0.0175, 0.001))
        self.assertTrue(self.board.is_live("saddle-point"))

    def test_gradient_grown_while_loss_rose_is_not_an_escape(self):
        self.det.evaluate_escape(view(100, 3.0, 6.0))
        self.assertTrue(self.board.is_live("saddle-point"))


if __name__ == "__main__":
    unittest.main()
