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

    def test_float32_hvps_on_a_larger_hessian_give_no_ghost_eigenvalues(self):
        # Dense eigen-solver as the oracle. Float32 HVPs and a dominant, well separated top eigenvalue
        # converge within a few iterations; without re-orthogonalisation the later ones find it again
        # (a "ghost" copy), and a probe would report a wrong spectrum.
        torch.manual_seed(1)
        n = 400
        q, _ = torch.linalg.qr(torch.randn(n, n, dtype=torch.float64))
        eig = torch.cat([torch.tensor([50.0, 20.0, -8.0], dtype=torch.float64), torch.rand(n - 3, dtype=torch.float64) * 2 - 1])
        a = (q @ torch.diag(eig) @ q.T).float()
        w = torch.zeros(n, requires_grad=True)
        loss = 0.5 * w @ a @ w + (w ** 3).sum() * 0
        hvp = hvp_from_loss(loss, [w])
        values, hvps = lanczos(hvp, [w], iterations=60)
        self.assertEqual(hvps, 60)
        exact = torch.linalg.eigvalsh(a.double())
        self.assertAlmostEqual(values[-1], float(exact[-1]), places=3)
        self.assertAlmostEqual(values[-2], float(exact[-2]), places=3)
        self.assertAlmostEqual(values[0], float(exact[0]), places=3)
        self.assertEqual(sum(abs(v - 50.0) < 1.0 for v in values), 1, values[-4:])

    def test_linear_loss_has_no_curvature(self):
        w = torch.randn(3, requires_grad=True)
        self.assertIsNone(hvp_from_loss((w * 2).sum(), [w]))


if __name__ == "__main__":
    unittest.main()
