"""The probe on a model with a module that has no second derivative measures the rest of the model
exactly (oracle: the dense Hessian of those parameters), and the probe budget of large models counts
work, never time."""
import os as _os, sys as _sys  # noqa: E401 - the package lives next to this folder
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import time
import unittest
from unittest import mock

import torch
from torch import nn

from optiscope import probes as probes_module
from optiscope.hessian import lanczos, supported_hvp
from optiscope.probes import Probes


class Bag(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.EmbeddingBag(20, 4, mode="mean")
        self.fc = nn.Linear(4, 3)

    def forward(self, text: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.tanh(self.embedding(text, offsets)))


class SupportedHvpTest(unittest.TestCase):
    def test_embedding_bag_left_out_and_the_rest_exact(self):
        torch.manual_seed(0)
        model = Bag().double()
        text = torch.randint(0, 20, (12,))
        offsets = torch.tensor([0, 3, 7])
        y = torch.tensor([0, 2, 1])
        loss = nn.functional.cross_entropy(model(text, offsets), y)
        blocks = [("embedding", list(model.embedding.parameters())), ("fc", list(model.fc.parameters()))]
        hvp, dropped, why = supported_hvp(loss, list(model.parameters()), blocks)
        self.assertIsNone(why)
        self.assertEqual([(d[0], d[1]) for d in dropped], [("embedding", 80)])
        self.assertIn("embedding_bag", dropped[0][2])
        fc = list(model.fc.parameters())
        self.assertEqual([id(p) for p in hvp.params], [id(p) for p in fc])
        values, _ = lanczos(hvp, hvp.params, iterations=40)

        # The oracle: the dense Hessian of the loss in fc's parameters alone, the table held fixed.
        h = model.embedding(text, offsets).detach()

        def loss_of(w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return nn.functional.cross_entropy(torch.tanh(h) @ w.T + b, y)

        blocks_h = torch.autograd.functional.hessian(loss_of, (model.fc.weight.detach(), model.fc.bias.detach()))
        dense = torch.cat([torch.cat([blocks_h[i][j].reshape(fc[i].numel(), fc[j].numel()) for j in range(2)], 1) for i in range(2)])
        eig = torch.linalg.eigvalsh(dense)
        self.assertAlmostEqual(values[-1], float(eig[-1]), places=9)
        self.assertAlmostEqual(values[0], float(eig[0]), places=9)

    def test_a_layer_whose_gradient_autograd_did_not_compute_is_named_not_silently_dropped(self):
        class NumpyRelu(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):  # type: ignore[no-untyped-def]
                ctx.save_for_backward(x)
                return x.clamp(min=0)

            @staticmethod
            def backward(ctx, g):  # type: ignore[no-untyped-def]
                (x,) = ctx.saved_tensors
                return torch.from_numpy(g.detach().numpy() * (x.detach().numpy() > 0))

        torch.manual_seed(0)
        fc1, fc2 = nn.Linear(4, 8), nn.Linear(8, 2)
        loss = nn.functional.cross_entropy(fc2(NumpyRelu.apply(fc1(torch.randn(5, 4)))), torch.tensor([0, 1, 0, 1, 1]))
        blocks = [("fc1", list(fc1.parameters())), ("fc2", list(fc2.parameters()))]
        hvp, dropped, why = supported_hvp(loss, blocks[0][1] + blocks[1][1], blocks)
        self.assertIsNone(why)
        self.assertEqual([(d[0], d[1]) for d in dropped], [("fc1", 40)])
        self.assertIn("outside autograd", dropped[0][2])
        self.assertEqual([id(p) for p in hvp.params], [id(p) for p in fc2.parameters()])

    def test_a_model_that_supports_it_is_probed_whole_without_a_trial_later(self):
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
        loss = model(torch.randn(5, 3)).pow(2).mean()
        params = list(model.parameters())
        hvp, dropped, why = supported_hvp(loss, params, [("0", params[:2]), ("2", params[2:])])
        self.assertEqual((dropped, why), ([], None))
        self.assertEqual(len(hvp.params), 4)


class WorkBudgetTest(unittest.TestCase):
    def test_the_probe_budget_reads_no_clock(self):
        probes = Probes(torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1))

        def no_clock() -> float:
            raise AssertionError("the probe budget read a clock")

        seen = []
        with mock.patch.object(time, "perf_counter", no_clock), mock.patch.object(time, "process_time", no_clock), \
                mock.patch.object(time, "monotonic", no_clock), mock.patch.object(time, "time", no_clock):
            # The second probe's 20 HVPs fit once 3% of the steps at HVP_STEPS = 3.5 reach them: step 2334.
            for steps, spent in [(0, 0), (10, 0), (10, 40), (2333, 40), (2334, 40)]:
                probes.auto_hvps = spent
                seen.append(probes.affordable_now(steps))
        # One probe with its preconditioned pass is free; then PROBE_BUDGET of the steps, at HVP_STEPS a HVP.
        self.assertEqual(probes_module.PROBE_FREE_HVPS, 40)
        self.assertEqual(seen, [True, True, False, False, True])

    def test_the_governor_samples_by_counted_work_without_a_clock(self):
        """The same steps are sampled whatever a clock would say: none is read."""
        from optiscope import cadence as cadence_module

        def no_clock() -> float:
            raise AssertionError("the governor read a clock")

        def sampled() -> list:
            model = nn.Linear(400, 300)
            c = cadence_module.Cadence(lambda: list(model.parameters()), None, 0, None)
            c.govern([model], 120_300, 2, 1)
            out = []
            with mock.patch.object(time, "perf_counter", no_clock), mock.patch.object(time, "process_time", no_clock), \
                    mock.patch.object(time, "monotonic", no_clock), mock.patch.object(time, "time", no_clock):
                for step in range(1, 301):
                    monitored = c.next_monitored
                    if monitored:
                        out.append(step)
                    model(torch.randn(64 if step % 3 else 16, 400))
                    c.decide_next(step, monitored)
            c.close()
            return out

        first = sampled()
        self.assertEqual(first[:21], list(range(1, 22)))  # the warm-up, whole
        self.assertLess(len(first), 100)  # then a sample
        self.assertGreater(len(first), 21)
        self.assertEqual(sampled(), first)


class StatisticsDegradeTest(unittest.TestCase):
    def test_a_layer_whose_effective_lr_fails_is_switched_off_alone(self):
        from optiscope import naming
        from optiscope.stats import StatsCollector

        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 0), nn.Linear(0, 2))  # an empty layer
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        stats = StatsCollector(opt, naming.build_layout([p for g in opt.param_groups for p in g["params"]], [model]))
        for _ in range(3):
            opt.zero_grad()
            h = model[0](torch.randn(5, 4))
            (h.pow(2).mean() + model[2](h).sum()).backward()
            stats.before()
            opt.step()
            s = stats.after(None)
            by_name = {layer["name"]: layer for layer in s.layers}
            first = by_name[s.layers[0]["name"]]["effectiveLr"]
            self.assertTrue(0 < first["min"] <= first["p50"] <= first["max"])  # the rest is measured
            empty = by_name[s.layers[1]["name"]]["effectiveLr"]
            self.assertTrue(all(v != v for v in empty.values()))  # NaN: no band, never a made-up one
        self.assertEqual([(f[1], f[3]) for f in stats.failures], [("effective learning rate", 0)])  # once, not per step


if __name__ == "__main__":
    unittest.main()
