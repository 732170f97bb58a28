"""The curvature probe's Lanczos on double-backward HVPs finds the extreme eigenvalues of a known Hessian."""
import os as _os, sys as _sys  # noqa: E401 - the package lives next to this folder
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import unittest

import torch

from optiscope.hessian import hvp_from_loss, lanczos


class HessianTest(unittest.TestCase):
    def test_quadratic_with_a_saddle(self):
        torch.manual_seed(0)
        q, _ = torch.linalg.qr(torch.randn(6, 6, dtype=torch.float64))
        eig = torch.tensor([-2.0, -0.5, 0.1, 1.0, 3.0, 7.0], dtype=torch.float64)
        a = q @ torch.diag(eig) @ q.T
        x = torch.randn(4, dtype=torch.float64, requires_grad=True)
        y = torch.randn(2, dtype=torch.float64, requires_grad=True)
        z = torch.cat([x, y])
        loss = 0.5 * z @ a @ z + (z ** 3).sum() * 0  # cubic term keeps the graph twice-differentiable
        hvp = hvp_from_loss(loss, [x, y])
        values, hvps = lanczos(hvp, [x, y], iterations=20)
        self.assertLessEqual(hvps, 6)
        self.assertAlmostEqual(values[0], -2.0, places=8)
        self.assertAlmostEqual(values[-1], 7.0, places=8)

    def test_linear_loss_has_no_curvature(self):
        w = torch.randn(3, requires_grad=True)
        self.assertIsNone(hvp_from_loss((w * 2).sum(), [w]))


if __name__ == "__main__":
    unittest.main()
