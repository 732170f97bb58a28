"""The CPU effective-lr band (optiscope/band.py) gives bit-identical numbers to the torch reductions it
replaces on the CPU (stats.StatsCollector's device path), whatever the optimizer, with dead units (zero
gradients left out of the band), NaN state, and layers large enough to be sampled for the median."""
import os as _os, sys as _sys  # noqa: E401 - the package lives next to this folder
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import math
import unittest
from unittest import mock

import torch
from torch import nn

from optiscope import band, naming
from optiscope.stats import MEDIAN_SAMPLE, StatsCollector

torch.set_num_threads(1)

OPTIMIZERS = [
    ("Adam", lambda ps: torch.optim.Adam(ps, lr=1e-3)),
    ("AdamW amsgrad", lambda ps: torch.optim.AdamW(ps, lr=3e-3, amsgrad=True)),
    ("NAdam", lambda ps: torch.optim.NAdam(ps, lr=2e-3)),
    ("Adamax", lambda ps: torch.optim.Adamax(ps, lr=2e-3)),
    ("RMSprop centered", lambda ps: torch.optim.RMSprop(ps, lr=1e-2, centered=True)),
    ("Adagrad", lambda ps: torch.optim.Adagrad(ps, lr=1e-2, lr_decay=1e-3)),
]


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


class BandTest(unittest.TestCase):
    def both_paths(self, make_opt, poison: bool = False, steps: int = 3):
        """The step stats of one update, from the CPU band and from the device path, on the same state."""
        torch.manual_seed(0)
        # 40 × 30 = 1,200 weights: above MEDIAN_SAMPLE, so the median is taken on a strided sample.
        model = nn.Sequential(nn.Linear(30, 40), nn.ReLU(), nn.Linear(40, 7), nn.Tanh(), nn.Linear(7, 1))
        self.assertGreater(model[0].weight.numel(), MEDIAN_SAMPLE)
        with torch.no_grad():  # two dead units: their weights and bias never get a gradient
            model[0].weight[:2].fill_(-1.0)
            model[0].bias[:2] = -100.0
        opt = make_opt(model.parameters())
        layout = naming.build_layout([p for g in opt.param_groups for p in g["params"]], [model])
        x, y = torch.rand(64, 30), torch.randn(64, 1)
        for i in range(steps):
            opt.zero_grad()
            ((model(x) - y) ** 2).mean().backward()
            if i < steps - 1:
                opt.step()
        # the per-tensor path, with band.py (fast) and without (device); flat_stats.py has its own test
        fast, device = StatsCollector(opt, layout, flat=False), StatsCollector(opt, layout, flat=False)
        fast.before()
        device.before()
        opt.step()
        if poison:  # non-finite state in part of the second layer and all of the last
            key = next(k for k in ("exp_avg_sq", "exp_inf", "square_avg", "sum") if k in opt.state[model[2].weight])
            opt.state[model[2].weight][key][:3] = math.nan
            opt.state[model[4].weight][key].fill_(math.nan)
            opt.state[model[4].bias][key].fill_(math.nan)
        s_fast = fast.after(None)
        with mock.patch.object(band, "fits", lambda keys: False):
            s_device = device.after(None)
        return s_fast, s_device

    def test_band_equals_the_device_path(self):
        for name, make in OPTIMIZERS:
            for poison in (False, True):
                with self.subTest(optimizer=name, poison=poison):
                    s_fast, s_device = self.both_paths(make, poison)
                    self.assertGreaterEqual(s_fast.layers[0].get("zeroGrad", 0), 62)  # 2 dead units × (30 + 1)
                    for a, b in zip(s_fast.layers, s_device.layers):
                        self.assertTrue(same(a, b), f"{a} != {b}")
                    if not poison:
                        self.assertTrue(all(math.isfinite(v) for v in s_fast.layers[0]["effectiveLr"].values()))

    def test_order_stats_of_all_nan_and_empty_keys(self):
        lo, m1, m2, hi, zero = band.order_stats([torch.full((5,), math.nan)], [None], MEDIAN_SAMPLE)
        self.assertEqual((lo, hi, zero), (math.inf, -math.inf, 0))
        self.assertTrue(math.isnan(m1) and math.isnan(m2))
        lo, m1, m2, hi, zero = band.order_stats([torch.tensor([3.0, 1.0, 2.0, 4.0])],
                                                [torch.tensor([False, True, False, False])], MEDIAN_SAMPLE)
        self.assertEqual((lo, m1, m2, hi, zero), (2.0, 3.0, 3.0, 4.0, 1))

    def test_the_median_matches_torch_nanmedian(self):
        torch.manual_seed(1)
        for n in (1, 2, 7, 64, 1000, 5000):
            k = torch.rand(n)
            k[torch.rand(n) < 0.1] = math.nan
            lo, m1, m2, hi, _ = band.order_stats([k], [None], n + 1)
            valid = k[~torch.isnan(k)]
            if valid.numel() == 0:
                continue
            self.assertEqual(m1, float(k.nanmedian()))
            self.assertEqual(m2, -float((-k).nanmedian()))
            self.assertEqual((lo, hi), (float(valid.min()), float(valid.max())))


if __name__ == "__main__":
    unittest.main()
