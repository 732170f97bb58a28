"""Explicit mode: optiscope.watch with a closure writes the run's events, monitors the steps asked for,
and its curvature probe measures the true Hessian (compared with torch.autograd.functional.hessian)."""
import os as _os, sys as _sys  # noqa: E401 - the package lives next to this folder
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import json
import os
import tempfile
import unittest

import numpy as np
import torch
from torch import nn

import optiscope

torch.set_num_threads(1)


def exact_hessian(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    params = [p.detach().clone() for p in model.parameters()]
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]

    def loss_of(flat: torch.Tensor) -> torch.Tensor:
        ps = [c.reshape(s) for c, s in zip(torch.split(flat, sizes), shapes)]
        h = torch.tanh(x @ ps[0].T + ps[1])
        out = h @ ps[2].T + ps[3]
        return ((out - y) ** 2).mean()

    flat = torch.cat([p.reshape(-1) for p in params]).double()
    return torch.autograd.functional.hessian(loss_of, flat).numpy()


class WatchTest(unittest.TestCase):
    def test_events_every_and_exact_curvature(self):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        x, y = torch.randn(32, 3, dtype=torch.float64), torch.randn(32, 1, dtype=torch.float64)
        loss_fn = nn.MSELoss()
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "run.ndjson")
            w = optiscope.watch(model, opt, every=2, closure=lambda: loss_fn(model(x), y), log=log, hessian_every=2)
            expected = {}
            for step in range(1, 7):
                opt.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                opt.step()
                expected[step] = np.linalg.eigvalsh(exact_hessian(model, x, y))
            w.close()
            with open(log, encoding="utf-8") as f:
                events = [json.loads(line) for line in f]
        types = [e["type"] for e in events]
        self.assertEqual(types[0], "start")
        self.assertEqual(types[-1], "end")
        self.assertEqual(events[0]["layers"], [{"name": "model.0", "parameters": 16, "module": {"type": "Linear", "in": 3, "out": 4}, "activation": "tanh"}, {"name": "model.2", "parameters": 5, "module": {"type": "Linear", "in": 4, "out": 1}}])
        self.assertEqual([e["step"] for e in events if e["type"] == "step"], [1, 2, 4, 6])
        hessians = [e for e in events if e["type"] == "hessian"]
        self.assertEqual([h["step"] for h in hessians], [2, 4, 6])
        for h in hessians:
            ev = expected[h["step"]]
            self.assertAlmostEqual(h["lambdaMax"], ev[-1], places=8)
            self.assertAlmostEqual(h["lambdaMin"], ev[0], places=8)
            self.assertEqual(h["trigger"], "scheduled")
            self.assertAlmostEqual(h["lrSharpness"], 0.05 * ev[-1], places=8)
        self.assertEqual(events[-1]["reason"], "completed")
        self.assertEqual(events[-1]["steps"], 6)
        # no monitoring and no events once closed
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()


if __name__ == "__main__":
    unittest.main()
