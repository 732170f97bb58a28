"""Preconditioned sharpness λ_max(P⁻¹H) in the bridge against the dense computation: the explicit
Hessian of a tiny float64 torch model (torch.autograd.functional.hessian), P from the optimizer's own
state (exp_avg_sq, square_avg, grad_avg, sum) and, independently, from the step it applied, and
numpy's dense symmetric eigen-solver."""
import os as _os, sys as _sys  # noqa: E401 - the package lives next to this folder
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import math
import unittest

import numpy as np
import torch

from optiscope.hessian import hvp_from_loss, preconditioned_sharpness, preconditioner

CASES = [
    ("adam", lambda ps: torch.optim.Adam(ps, lr=0.01), 38 / 0.01),
    ("adamw", lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.01), 38 / 0.01),
    ("rmsprop", lambda ps: torch.optim.RMSprop(ps, lr=0.003), 2 / 0.003),
    ("rmsprop centred", lambda ps: torch.optim.RMSprop(ps, lr=0.003, centered=True), 2 / 0.003),
    ("rmsprop momentum", lambda ps: torch.optim.RMSprop(ps, lr=0.003, momentum=0.5), 3 / 0.003),
    ("adagrad", lambda ps: torch.optim.Adagrad(ps, lr=0.05), 2 / 0.05),
]


def model_and_data(seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(20, 2, generator=g, dtype=torch.float64)
    y = torch.sin(x[:, :1] * 2) + x[:, 1:] ** 2
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1)).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    return net, x, y


def state_inverse(name: str, opt: torch.optim.Optimizer, p: torch.Tensor) -> torch.Tensor:
    """P⁻¹ written out from torch's state, as torch's update divides by it."""
    s, group = opt.state[p], opt.param_groups[0]
    t = float(s["step"])
    if name in ("adam", "adamw"):
        return 1 / (s["exp_avg_sq"].sqrt() / math.sqrt(1 - group["betas"][1] ** t) + group["eps"])
    if name.startswith("rmsprop"):
        v = s["square_avg"] - (s["grad_avg"] ** 2 if group["centered"] else 0)
        return 1 / (v.sqrt() + group["eps"])
    return 1 / (s["sum"].sqrt() + group["eps"])


class PreconditionedSharpnessTest(unittest.TestCase):
    def check(self, name, make, edge):
        net, x, y = model_and_data(3)
        params = list(net.parameters())
        opt = make(params)
        for _ in range(6):
            opt.zero_grad()
            loss = ((net(x) - y) ** 2).mean()
            loss.backward()
            before = [p.detach().clone() for p in params]
            grads = [p.grad.detach().clone() for p in params]
            opt.step()
        # The dense oracle: H of the flattened parameters, P⁻¹ from the state.
        flat0 = torch.cat([p.detach().reshape(-1) for p in params])
        shapes = [p.shape for p in params]

        def f(flat):
            out, i = x, 0
            ws = []
            for s in shapes:
                n = int(np.prod(s))
                ws.append(flat[i:i + n].reshape(s))
                i += n
            h = torch.tanh(out @ ws[0].T + ws[1])
            return ((h @ ws[2].T + ws[3] - y) ** 2).mean()

        H = torch.autograd.functional.hessian(f, flat0).numpy()
        pinv = torch.cat([state_inverse(name, opt, p).reshape(-1) for p in params]).numpy()
        if name in ("adam", "rmsprop", "adagrad"):
            # Independently, from the step torch applied: Δθ = −lr·P⁻¹·(m/(1 − β₁ᵗ) for Adam, g otherwise).
            g0 = opt.param_groups[0]
            direction = [opt.state[p]["exp_avg"] / (1 - g0["betas"][0] ** 6) for p in params] if name == "adam" else grads
            applied = torch.cat([((b - p.detach()) / (g0["lr"] * d)).reshape(-1) for b, p, d in zip(before, params, direction)]).numpy()
            np.testing.assert_allclose(applied, pinv, rtol=1e-8)
        d = np.sqrt(pinv)
        want = float(np.linalg.eigvalsh(d[:, None] * H * d[None, :])[-1])
        raw = float(np.linalg.eigvalsh(H)[-1])
        self.assertGreater(abs(raw - want), 1e-3 * abs(want), "P reshapes the spectrum")

        loss = ((net(x) - y) ** 2).mean()
        hvp = hvp_from_loss(loss, params)
        got = preconditioned_sharpness(opt, hvp, iterations=len(flat0), seed=1)
        self.assertIsNotNone(got)
        lam, e, hvps = got
        self.assertLessEqual(abs(lam - want), 1e-6 * max(1.0, abs(want)), f"{name}: {lam} vs dense {want}")
        self.assertAlmostEqual(e, edge, places=6)
        self.assertEqual(hvps, len(flat0))

    def test_against_dense(self):
        for name, make, edge in CASES:
            with self.subTest(name):
                self.check(name, make, edge)

    def test_no_preconditioner_for_sgd_or_before_the_first_step(self):
        w = torch.zeros(3, requires_grad=True)
        self.assertIsNone(preconditioner(torch.optim.Adam([w]), [w]))
        sgd = torch.optim.SGD([w], lr=0.1, momentum=0.9)
        w.grad = torch.ones(3)
        sgd.step()
        self.assertIsNone(preconditioner(sgd, [w]))



class RawEdgeTest(unittest.TestCase):
    def test_sgd_family_edges(self):
        from optiscope.hessian import raw_edge
        w = torch.zeros(2, requires_grad=True)
        self.assertAlmostEqual(raw_edge(torch.optim.SGD([w], lr=0.1)), 20.0)
        self.assertAlmostEqual(raw_edge(torch.optim.SGD([w], lr=0.1, momentum=0.9)), 38.0)
        self.assertAlmostEqual(raw_edge(torch.optim.SGD([w], lr=0.1, momentum=0.5, nesterov=True)), 2 * 1.5 / (2 * 0.1))
        self.assertIsNone(raw_edge(torch.optim.Adam([w], lr=0.1)))



class LayerCurvatureTest(unittest.TestCase):
    def test_blocks_against_dense(self):
        from optiscope.hessian import layer_curvature
        net, x, y = model_and_data(4)
        params = list(net.parameters())
        loss = ((net(x) - y) ** 2).mean()
        hvp = hvp_from_loss(loss, params)
        sizes = [p.numel() for p in params]
        flat0 = torch.cat([p.detach().reshape(-1) for p in params])
        shapes = [p.shape for p in params]

        def f(flat):
            ws, i = [], 0
            for s, n in zip(shapes, sizes):
                ws.append(flat[i:i + n].reshape(s))
                i += n
            return ((torch.tanh(x @ ws[0].T + ws[1]) @ ws[2].T + ws[3] - y) ** 2).mean()

        H = torch.autograd.functional.hessian(f, flat0).numpy()
        layers = [("0", params[:2]), ("2", params[2:])]
        got, hvps = layer_curvature(hvp, layers, iterations=20, seed=1)
        self.assertEqual([g["name"] for g in got], ["0", "2"])
        off = 0
        for (name, ps), g in zip(layers, got):
            n = sum(p.numel() for p in ps)
            want = float(np.linalg.eigvalsh(H[off:off + n, off:off + n])[-1])
            self.assertLessEqual(abs(g["lambdaMax"] - want), 1e-6 * max(1.0, abs(want)), f"{name}: {g['lambdaMax']} vs {want}")
            off += n
        self.assertEqual(hvps, sum(sizes))


if __name__ == "__main__":
    unittest.main()
