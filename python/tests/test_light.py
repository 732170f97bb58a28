"""A light step's gradient norm (light.py): the float64 norm of every gradient as one vector to float32
rounding, whatever way the gradients are read; not finite exactly when some element is not."""
import os as _os, sys as _sys  # noqa: E401 - the package lives next to this folder
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import math
import unittest

import torch
from torch import nn

from optiscope.light import CHUNK, GradNorm

torch.set_num_threads(1)


def exact(params):
    return math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in params if p.grad is not None))


def params_with_grads(dtype=torch.float32, seed=0):
    torch.manual_seed(seed)
    # One tensor longer than CHUNK (read in chunks), one short, one empty, one without a gradient.
    ps = [nn.Parameter(torch.randn(3 * CHUNK + 17, dtype=dtype)), nn.Parameter(torch.randn(7, 5, dtype=dtype)),
          nn.Parameter(torch.zeros(0, dtype=dtype)), nn.Parameter(torch.randn(4, dtype=dtype))]
    for p in ps[:3]:
        p.grad = torch.randn_like(p) * 1e-3
    return ps


class GradNormTest(unittest.TestCase):
    def test_equals_the_float64_norm_to_float32_rounding_on_every_read(self):
        for dtype in (torch.float32, torch.float64):
            ps = params_with_grads(dtype)
            norm = GradNorm()
            for i in range(5):
                with torch.no_grad():
                    ps[0].grad.mul_(1.5)  # changed in place between reads: each read sees the values now
                    ps[1].grad[0, 0] = float(i)
                want = exact(ps)
                self.assertAlmostEqual(norm(ps), want, delta=(1e-6 if dtype == torch.float32 else 1e-14) * want)
            self.assertTrue(norm.views, "the same gradients read again are read through kept views")

    def test_a_non_finite_element_anywhere_makes_the_norm_not_finite(self):
        ps = params_with_grads()
        norm = GradNorm()
        norm(ps)
        norm(ps)
        for where in (0, CHUNK - 1, CHUNK, 2 * CHUNK + 5, 3 * CHUNK + 16):
            for bad in (math.nan, math.inf, -math.inf):
                with torch.no_grad():
                    old = float(ps[0].grad[where])
                    ps[0].grad[where] = bad
                self.assertFalse(math.isfinite(norm(ps)), (where, bad))
                with torch.no_grad():
                    ps[0].grad[where] = old
        self.assertTrue(math.isfinite(norm(ps)))
        with torch.no_grad():
            ps[1].grad[6, 4] = math.nan
        self.assertFalse(math.isfinite(norm(ps)))

    def test_gradients_replaced_at_every_step_are_read_as_they_are(self):
        # zero_grad(set_to_none=True): fresh tensors at new addresses each step (a kept view holds the old ones).
        ps = params_with_grads()
        norm = GradNorm()
        norm(ps)
        norm(ps)  # the same gradients twice: read through views from now on
        self.assertTrue(norm.views)
        for step in range(6):
            for p in ps[:2]:
                p.grad = torch.randn_like(p) * (step + 1)
            self.assertAlmostEqual(norm(ps), exact(ps), delta=1e-6 * exact(ps))

    def test_gradients_it_cannot_view_take_torchs_norm(self):
        torch.manual_seed(3)
        cases = {
            "sparse": (nn.Parameter(torch.randn(50, 4)), lambda p: torch.randn(50, 4).to_sparse()),
            "half precision": (nn.Parameter(torch.randn(40, dtype=torch.bfloat16)), lambda p: torch.randn_like(p)),
            "not contiguous": (nn.Parameter(torch.randn(6, 5)), lambda p: torch.randn(5, 6).t()),
        }
        for name, (p, grad) in cases.items():
            p.grad = grad(p)
            norm = GradNorm()
            want = math.sqrt(float((p.grad.to_dense().double() ** 2).sum()))
            for _ in range(3):
                self.assertAlmostEqual(norm([p]), want, delta=1e-2 * want, msg=name)
            self.assertFalse(norm.views, name)

    def test_no_gradient_at_all_is_zero(self):
        self.assertEqual(GradNorm()([nn.Parameter(torch.randn(3))]), 0.0)


if __name__ == "__main__":
    unittest.main()
