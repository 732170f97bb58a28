"""The per-step fast paths compute exactly what the straightforward computations give: effective-lr
maps applied on the host, the upper middle value without a second median, the single-transfer gather,
the ring buffer's sliced history, and activity fractions from counts."""
import os as _os, sys as _sys  # noqa: E401 - the package lives next to this folder
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import math
import sys
import random
import unittest

import torch
from torch import nn

from optiscope import effective_lr, naming
from optiscope.stats import MEDIAN_SAMPLE, StatsCollector, gather

torch.set_num_threads(1)


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _composed(signature_kind: str):
    """The host maps as _recip and _sqrt composed (how effective_lr.py wrote them before they were inlined)."""
    r, q = effective_lr._recip, effective_lr._sqrt

    def adam(src, k):
        _, step_size, bc2, eps = src.signature
        return step_size * r(q(k) / bc2 + eps)

    def nadam(src, k):
        _, coef, bc2, eps = src.signature
        return coef * r(q(k / bc2) + eps)

    def adamax(src, k):
        return src.signature[1] * r(k)

    def rms(src, k):
        _, lr, eps = src.signature
        return lr * r(q(k) + eps)

    return {"adam": adam, "nadam": nadam, "adamax": adamax, "rms": rms}[signature_kind]


reference = {torch.optim.Adam: _composed("adam"), torch.optim.AdamW: _composed("adam"), torch.optim.NAdam: _composed("nadam"),
             torch.optim.Adamax: _composed("adamax"), torch.optim.RMSprop: _composed("rms"), torch.optim.Adagrad: _composed("rms")}


class HostMapTest(unittest.TestCase):
    def test_host_map_is_bit_identical_to_torch(self):
        torch.manual_seed(0)
        keys = torch.cat([torch.rand(20000) ** 8 * 10.0 ** torch.randint(-30, 5, (20000,)).float(),
                          torch.tensor([0.0, 1e-45, math.inf, math.nan, -1e-9])])
        cases = [
            (torch.optim.Adam, {"lr": 1e-3}, "exp_avg_sq"), (torch.optim.AdamW, {"lr": 3e-3, "eps": 0.0}, "exp_avg_sq"),
            (torch.optim.NAdam, {"lr": 2e-3}, "exp_avg_sq"), (torch.optim.Adamax, {"lr": 2e-3}, "exp_inf"),
            (torch.optim.RMSprop, {"lr": 1e-2}, "square_avg"), (torch.optim.Adagrad, {"lr": 1e-2, "lr_decay": 1e-3}, "sum"),
        ]
        for cls, kw, name in cases:
            p = nn.Parameter(torch.zeros(keys.numel()))
            opt = cls([p], **kw)
            p.grad = torch.ones_like(p)
            for _ in range(3):
                opt.step()
            opt.state[p][name].copy_(keys)
            src = effective_lr.post_step(opt, p, opt.param_groups[0])
            self.assertIsNotNone(src.host, cls.__name__)
            dev = src.fn(src.key).tolist()
            host = [src.host(x) for x in src.key.tolist()]
            bad = [i for i, (a, b) in enumerate(zip(dev, host)) if not same(a, b)]
            self.assertEqual(bad, [], cls.__name__)
            # One Python call per key: the helper maps four keys per layer at every step (_bands).
            calls = []
            sys.setprofile(lambda frame, event, arg: calls.append(frame.f_code.co_name) if event == "call" else None)
            try:
                src.host(0.25)
            finally:
                sys.setprofile(None)
            self.assertEqual(calls, ["host"], cls.__name__)
            # The same floats as _recip and _sqrt composed, at the edges too (-0, negative keys, NaN, ∞).
            for k in (0.0, -0.0, -1.0, math.nan, math.inf, -math.inf, 1e-300, 4.0):
                self.assertTrue(same(src.host(k), reference[cls](src, k)), (cls.__name__, k))


class UpperMiddleTest(unittest.TestCase):
    def reference(self, sample: torch.Tensor):
        # NaN effective lrs are left out of the band, as in the engine (src/engine/monitors/stats.ts).
        sample = sample[~torch.isnan(sample)]
        lo = float(sample.median())
        hi = lo if sample.numel() % 2 else -float((-sample).median())
        return lo, hi

    def test_layer_summary_matches_two_medians(self):
        rng = random.Random(1)
        for trial in range(60):
            n = rng.choice([2, 4, 6, 10, 64, MEDIAN_SAMPLE])  # larger layers are sampled
            kind = trial % 4
            if kind == 0:
                values = torch.rand(n)
            elif kind == 1:  # many ties
                values = torch.randint(0, 3, (n,)).float()
            elif kind == 2:  # infinities
                values = torch.rand(n)
                values[: n // 2] = math.inf
            else:  # a NaN: left out
                values = torch.rand(n)
                values[rng.randrange(n)] = math.nan
            p = nn.Parameter(torch.zeros(n))
            opt = torch.optim.Adam([p], lr=1e-3)
            p.grad = torch.ones_like(p)
            opt.step()
            opt.state[p]["exp_avg_sq"].copy_(values)
            layout = naming.build_layout([p], [])
            stats = StatsCollector(opt, layout)
            stats.before()
            p.grad = torch.ones_like(p)
            got = stats.after(None).layers[0]["effectiveLr"]
            src = effective_lr.post_step(opt, p, opt.param_groups[0])
            lo, hi = self.reference(src.key.reshape(-1))
            want = (src.host(lo) + src.host(hi)) / 2
            self.assertTrue(same(got["p50"], want), (trial, n, kind, got["p50"], want))


class GatherTest(unittest.TestCase):
    def test_mixed_dtypes_are_exact(self):
        xs = [torch.tensor(0.1, dtype=torch.float32), torch.tensor(0.1, dtype=torch.float64), torch.tensor(7),
              torch.tensor(1.5, dtype=torch.float16), torch.tensor(math.nan), torch.tensor(-math.inf, dtype=torch.float64)]
        got = gather(xs)
        want = [float(x.to(torch.float64)) for x in xs]
        self.assertTrue(all(same(a, b) for a, b in zip(got, want)), (got, want))


class ActivityFractionTest(unittest.TestCase):
    def test_count_over_units_equals_float64_mean(self):
        for n in list(range(1, 300)) + [1000, 4096, 32768]:
            for c in range(0, n + 1, max(1, n // 50)):
                t = torch.zeros(n, dtype=torch.bool)
                t[:c] = True
                self.assertEqual(c / n, float(t.to(torch.float64).mean()))
                self.assertEqual(1.0 - c / n, float(1.0 - t.to(torch.float64).mean()))


if __name__ == "__main__":
    unittest.main()
