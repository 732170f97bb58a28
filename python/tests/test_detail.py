import os as _os, sys as _sys  # noqa: E401 - the package lives next to this folder
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import math
import unittest

from optiscope.detail import Thinning

LAYERS = [{"name": "fc", "gradNorm": 1.0, "weightNorm": 2.0, "updateNorm": 0.1}]


class ThinningTest(unittest.TestCase):
    def kept(self, thin: Thinning, steps, loss=0.5, grad=1.0, layers=LAYERS):
        return [s for s in steps if thin.layers(s, loss, grad, layers)]

    def test_every_step_up_to_the_threshold_then_the_engines_schedule(self):
        thin = Thinning(10)
        self.assertEqual(self.kept(thin, range(1, 41)), list(range(1, 11)) + [12, 14, 16, 18, 20, 24, 28, 32, 36, 40])

    def test_zero_never_thins(self):
        self.assertEqual(self.kept(Thinning(0), range(1, 100)), list(range(1, 100)))

    def test_sampled_steps_keep_detail_once_a_period(self):
        # The governor's steps may skip the period's multiples: one a whole period after the last still carries layers.
        thin = Thinning(10)
        self.assertEqual(self.kept(thin, [1, 5, 11, 13, 15, 17, 23, 27, 29, 33]), [1, 5, 11, 13, 15, 17, 23, 27, 33])

    def test_non_finite_numbers_keep_their_layers(self):
        thin = Thinning(10)
        self.kept(thin, range(1, 31))
        self.assertEqual(thin.layers(31, math.nan, 1.0, LAYERS), LAYERS)
        self.assertEqual(thin.layers(33, 0.5, math.inf, LAYERS), LAYERS)
        bad = [dict(LAYERS[0], weightNorm=math.nan)]
        self.assertEqual(thin.layers(35, 0.5, 1.0, bad), bad)
        self.assertEqual(thin.layers(37, None, 1.0, LAYERS), [], "a loss the bridge did not see is no reason")

    def test_a_new_layout_reports_its_layers_at_once(self):
        thin = Thinning(10)
        self.kept(thin, range(1, 34))
        self.assertEqual(thin.layers(35, 0.5, 1.0, LAYERS), [])
        thin.last = None
        self.assertEqual(thin.layers(37, 0.5, 1.0, LAYERS), LAYERS)


if __name__ == "__main__":
    unittest.main()
