"""Per-layer statistics equal torch's own norms; the effective-lr summary is min / median / max."""
import os as _os, sys as _sys  # noqa: E401 - the package lives next to this folder
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import math
import unittest

import torch
from torch import nn

from optiscope import naming
from optiscope.stats import StatsCollector, _median, _weighted_median

torch.set_num_threads(1)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(5, 8)
        self.body = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(torch.relu(self.fc1(x)))


def one_step(opt_factory):
    torch.manual_seed(1)
    model = Net()
    opt = opt_factory(model.parameters())
    layout = naming.build_layout([p for g in opt.param_groups for p in g["params"]], [model])
    stats = StatsCollector(opt, layout)
    x, y = torch.randn(16, 5), torch.randn(16, 3)
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    stats.before()
    opt.step()
    s = stats.after(loss.detach())
    return model, opt, s, grads, before, loss


class StatsTest(unittest.TestCase):
    def test_layer_names_follow_owning_modules(self):
        _, _, s, _, _, _ = one_step(lambda ps: torch.optim.SGD(ps, lr=0.1))
        self.assertEqual([l["name"] for l in s.layers], ["fc1", "body.0", "body.2"])
        self.assertEqual(s.param_names[:2], ["fc1.weight", "fc1.bias"])

    def test_norms_equal_torch(self):
        model, _, s, grads, before, loss = one_step(lambda ps: torch.optim.Adam(ps, lr=0.01))
        self.assertAlmostEqual(s.loss, float(loss), places=6)
        for layer in s.layers:
            prefix = layer["name"] + "."
            names = [n for n in grads if n.startswith(prefix)]
            params = dict(model.named_parameters())
            g = torch.cat([grads[n].reshape(-1).double() for n in names])
            w = torch.cat([params[n].detach().reshape(-1).double() for n in names])
            u = torch.cat([(params[n].detach() - before[n]).reshape(-1).double() for n in names])
            # float32 parameters: norms are reduced in float32 (cascade summation), so a few ulps of float32
            self.assertAlmostEqual(layer["gradNorm"], float(torch.linalg.norm(g)), delta=1e-6 * float(torch.linalg.norm(g)))
            self.assertAlmostEqual(layer["weightNorm"], float(torch.linalg.norm(w)), delta=1e-6 * float(torch.linalg.norm(w)))
            self.assertAlmostEqual(layer["updateNorm"], float(torch.linalg.norm(u)), delta=1e-6 * float(torch.linalg.norm(u)))
        total = math.sqrt(sum(float(g.double().pow(2).sum()) for g in grads.values()))
        self.assertAlmostEqual(s.grad_norm, total, delta=1e-6 * total)

    def test_effective_lr_summary_of_adam(self):
        model, opt, s, _, _, _ = one_step(lambda ps: torch.optim.Adam(ps, lr=0.01))
        layer = s.layers[0]
        effs = []
        for p in (model.fc1.weight, model.fc1.bias):
            st = opt.state[p]
            effs.append((0.01 / (1 - 0.9)) / (st["exp_avg_sq"].double().sqrt() / math.sqrt(1 - 0.999) + 1e-8).reshape(-1))
        e = torch.cat(effs)
        srt = e.sort().values
        n = e.numel()
        median = float(srt[n // 2]) if n % 2 else float((srt[n // 2 - 1] + srt[n // 2]) / 2)
        self.assertAlmostEqual(layer["effectiveLr"]["min"], float(e.min()), delta=1e-9 * float(e.max()))
        self.assertAlmostEqual(layer["effectiveLr"]["max"], float(e.max()), delta=1e-9 * float(e.max()))
        self.assertAlmostEqual(layer["effectiveLr"]["p50"], median, delta=1e-9 * float(e.max()))

    def test_sgd_groups_with_different_lrs(self):
        def make(ps):
            ps = list(ps)
            # fc1.weight (40 values) at lr 0.1, everything else at lr 0.01
            return torch.optim.SGD([{"params": ps[:1], "lr": 0.1}, {"params": ps[1:], "lr": 0.01}], lr=0.01)

        _, _, s, _, _, _ = one_step(make)
        self.assertEqual(s.layers[0]["effectiveLr"], {"min": 0.01, "p50": 0.1, "max": 0.1})
        self.assertEqual(s.layers[1]["effectiveLr"], {"min": 0.01, "p50": 0.01, "max": 0.01})

    def test_medians(self):
        self.assertEqual(float(_median(torch.tensor([3.0, 1.0, 2.0, 10.0], dtype=torch.float64))), 2.5)
        self.assertEqual(float(_median(torch.tensor([3.0, 1.0, 2.0], dtype=torch.float64))), 2.0)
        self.assertEqual(_weighted_median([(1.0, 2), (5.0, 2)]), 3.0)
        self.assertEqual(_weighted_median([(1.0, 3), (5.0, 2)]), 1.0)


if __name__ == "__main__":
    unittest.main()


class ZeroGradientTest(unittest.TestCase):
    """The effective-lr band is over parameters that received a gradient; the others are counted apart
    (the engine's definition, src/engine/monitors/stats.ts)."""

    def run_dead_unit(self, make_opt, steps: int = 3):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
        with torch.no_grad():  # unit 0 of the hidden layer is dead: its weights never get a gradient
            model[0].weight[0].fill_(-1.0)
            model[0].bias[0] = -100.0
        opt = make_opt(model.parameters())
        layout = naming.build_layout([p for g in opt.param_groups for p in g["params"]], [model])
        stats = StatsCollector(opt, layout)
        x, y = torch.rand(32, 4), torch.randn(32, 1)
        for _ in range(steps):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            stats.before()
            opt.step()
            s = stats.after(loss.detach())
        return model, opt, s

    def test_adam_band_leaves_out_lr_over_eps(self):
        model, opt, s = self.run_dead_unit(lambda ps: torch.optim.Adam(ps, lr=1e-3))
        first = s.layers[0]
        zeros = int((model[0].weight.grad == 0).sum() + (model[0].bias.grad == 0).sum())
        self.assertGreaterEqual(zeros, 5)  # at least the dead unit's 4 weights and its bias
        self.assertEqual(first["zeroGrad"], zeros)
        # Reference: the effective lr of the parameters whose gradient is nonzero, by torch.
        effs = []
        for p in (model[0].weight, model[0].bias):
            v = opt.state[p]["exp_avg_sq"].double()
            t = opt.state[p]["step"].item()
            e = (1e-3 / (1 - 0.9**t)) / (v.sqrt() / math.sqrt(1 - 0.999**t) + 1e-8)
            effs.append(e[p.grad != 0])
        e = torch.cat(effs)
        self.assertLess(first["effectiveLr"]["max"], 1e3)  # not lr/ε = 1e5
        self.assertAlmostEqual(first["effectiveLr"]["max"], float(e.max()), delta=1e-9 * float(e.max()))
        self.assertAlmostEqual(first["effectiveLr"]["min"], float(e.min()), delta=1e-9 * float(e.max()))
        self.assertAlmostEqual(first["effectiveLr"]["p50"], float(_median(e)), delta=1e-9 * float(e.max()))
        # The output layer's weights from dead units get no gradient either (their input is 0).
        self.assertEqual(s.layers[1].get("zeroGrad", 0), int((model[2].weight.grad == 0).sum() + (model[2].bias.grad == 0).sum()))

    def test_sgd_counts_zero_gradients_too(self):
        model, _, s = self.run_dead_unit(lambda ps: torch.optim.SGD(ps, lr=0.1), steps=1)
        zeros = int((model[0].weight.grad == 0).sum() + (model[0].bias.grad == 0).sum())
        self.assertGreaterEqual(zeros, 5)
        self.assertEqual(s.layers[0]["zeroGrad"], zeros)
        self.assertEqual(s.layers[0]["effectiveLr"]["p50"], 0.1)
