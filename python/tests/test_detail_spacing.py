"""A small model's detailed steps past the warm-up (cadence.py): spaced by counted work, so a model whose step
is short next to its statistics is detailed less often than one whose step is long; the same steps on every
run of the same script, whatever the machine's load; the input rows counted on the scheduled detailed steps
only (a light step's forward pass runs with no hook)."""
import os as _os, sys as _sys  # noqa: E401 - the package lives next to this folder
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import json
import os
import tempfile
import unittest
from unittest import mock

import torch
from torch import nn

from .models import mlp
from optiscope import cadence, watch
from optiscope.cadence import DETAIL_EVERY, DETAIL_WARMUP, Cadence

torch.set_num_threads(1)


def shape(model):
    params = list(model.parameters())
    return sum(p.numel() for p in params), len(params), sum(1 for m in model.modules() if isinstance(m, nn.Linear))


def schedule(model, batches, steps):
    """The steps a light cadence details, driving `model` with batches of `batches(step)` rows, and the
    number of forward pre-hooks on the model during each step's forward pass."""
    c = Cadence(lambda: [], None, 0, None)
    c.light, c.governed = True, False
    c.govern([model], *shape(model))
    detailed, hooks = [], {}
    width = model[0].in_features
    for step in range(1, steps + 1):
        if c.detail_next:
            detailed.append(step)
        hooks[step] = len(model._forward_pre_hooks)
        model(torch.zeros(batches(step), width))
        c.decide_next(step, True)
    c.close()
    return detailed, hooks


class DetailSpacingTest(unittest.TestCase):
    def test_the_warm_up_then_a_spacing_from_the_counted_work(self):
        # W2 of the bench (26k parameters, batch 64): a step of ~0.49 ms of counted training work against
        # ~0.4 ms of counted statistics (a detailed step measured at 0.66-0.81 of a plain step over a light
        # one, docs/pytorch.md#overhead): every 30th step (the multiples of 30) keeps them within 3% of it.
        # W2 with batches of 512 trains eight times longer a step: every 10th, as before. Pinned: these are
        # the rule's steps.
        model = mlp([64, 128, 128, 10])
        detailed, hooks = schedule(model, lambda s: 64, 700)
        self.assertEqual(detailed, list(range(1, DETAIL_WARMUP + 1)) + [510, 540, 570, 600, 630, 660, 690])
        detailed, _ = schedule(mlp([64, 128, 128, 10]), lambda s: 512, 560)
        self.assertEqual(detailed[DETAIL_WARMUP:], [510, 520, 530, 540, 550, 560])
        # The rows are counted on the warm-up's last step and the scheduled detailed steps only.
        self.assertEqual({s for s, n in hooks.items() if n}, {500, 510, 540, 570, 600, 630, 660, 690})
        self.assertEqual(len(model._forward_pre_hooks), 0, "close() leaves no hook")

    def test_the_spacings_of_the_measured_shapes(self):
        # The shapes the constants were measured on (bench/detail_cost.py), at the spacing that keeps each
        # one's measured detailed steps within 3% of its plain steps: a 2-16-16-1 MLP with batches of 32
        # every 40th, an MLP of 8 hidden layers of 64 every 30th, a 256-256-96-10 MLP (91,000 parameters)
        # every 30th (every 20th before the recalibration: its detailed step, ≈ 0.72 of its plain step,
        # was counted at 0.58 of it, 3.6% of the training work at that spacing).
        c = Cadence(lambda: [], None, 0, None)
        for sizes, rows, spacing in (([2, 16, 16, 1], 32, 40), ([64] + [64] * 8 + [10], 64, 30),
                                     ([256, 256, 96, 10], 64, 30), ([64, 128, 128, 10], 64, 30)):
            c._shape = shape(mlp(sizes))
            self.assertEqual(c.detail_spacing(rows), spacing, sizes)
        # The bench's CNN (rows: N·C·H of its 64×1×28×28 batches) and small Transformer (32×16 tokens): every
        # 10th (measured: ≈ 0.24-0.26 and 0.11-0.18 of a plain step, 2.6% and 1.8% at most at that spacing).
        for parameters, tensors, layers, rows in ((5258, 6, 3, 64 * 28), (73994, 27, 14, 32 * 16)):
            c._shape = (parameters, tensors, layers)
            self.assertEqual(c.detail_spacing(rows), DETAIL_EVERY)

    def test_a_change_of_batch_size_moves_the_spacing_at_the_next_detailed_step(self):
        detailed, _ = schedule(mlp([64, 128, 128, 10]), lambda s: 64 if s < 570 else 512, 620)
        self.assertEqual(detailed[DETAIL_WARMUP:], [510, 540, 570, 580, 590, 600, 610, 620])

    def test_the_spacing_is_bounded(self):
        c = Cadence(lambda: [], None, 0, None)
        c._shape = shape(mlp([64, 128, 128, 10]))
        self.assertEqual(c.detail_spacing(10**6), DETAIL_EVERY, "a long step: never less than DETAIL_EVERY")
        c._shape = (90_000, 2, 20)
        self.assertEqual(c.detail_spacing(1), cadence.DETAIL_EVERY_MAX, "a tiny step: never more than DETAIL_EVERY_MAX")
        self.assertEqual(c.detail_spacing(0), DETAIL_EVERY, "rows not counted: the shortest spacing")
        with mock.patch.object(cadence, "OVERHEAD_BUDGET", 0.0):
            self.assertEqual(c.detail_spacing(64), cadence.DETAIL_EVERY_MAX)

    def test_a_watched_run_streams_the_same_detailed_steps(self):
        # Through watch(), inline (a warm-up of 20 steps): the step events that carry layers are the
        # schedule's, with a NaN step (taken with its layers whatever the schedule) in between.
        torch.manual_seed(0)
        model = mlp([64, 128, 128, 10])
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x, y = torch.randn(256, 64), torch.randint(0, 10, (256,))
        with tempfile.TemporaryDirectory() as d, mock.patch.dict(os.environ, {"OPTISCOPE_OFFLOAD": "0"}), \
                mock.patch.object(cadence, "DETAIL_WARMUP", 20):
            log = os.path.join(d, "events.ndjson")
            handle = watch(model, opt, log=log)
            for step in range(1, 141):
                opt.zero_grad()
                loss = nn.functional.cross_entropy(model(x[:64]), y[:64])
                if step == 65:  # a NaN loss the gradients do not see: the parameters stay finite
                    loss = loss + torch.tensor(float("nan"))
                loss.backward()
                opt.step()
            handle.close()
            with open(log, encoding="utf-8") as f:
                events = [json.loads(line) for line in f]
        steps = [e for e in events if e["type"] == "step"]
        self.assertEqual(len(steps), 140)
        self.assertEqual([e["step"] for e in steps if e["layers"]], list(range(1, 21)) + [30, 60, 65, 90, 120])


if __name__ == "__main__":
    unittest.main()
