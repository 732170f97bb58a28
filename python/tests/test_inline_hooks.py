"""An inline run (no helper process) registers its forward hooks only for the forward passes of the steps
that carry per-layer statistics: a light step's forward runs with no hook on any module (torch's hook-free
call path), a detailed step's with the NaN/Inf flags and the saturated-unit counts, and the run's end
leaves none behind."""
import os
import tempfile
import unittest
from unittest import mock

import torch
from torch import nn

import optiscope
from optiscope import cadence


def _hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


class InlineHooksTest(unittest.TestCase):
    def test_hooks_only_on_detailed_steps_forward_passes(self):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
        seen = {"light": set(), "detail": set()}
        with tempfile.TemporaryDirectory() as d, mock.patch.dict(os.environ, {"OPTISCOPE_OFFLOAD": "0"}), \
                mock.patch.object(cadence, "DETAIL_WARMUP", 5):
            log = os.path.join(d, "events.ndjson")
            w = optiscope.watch(model, opt, log=log)
            monitor = opt._optiscope
            for step in range(40):
                opt.zero_grad()
                detailed = monitor.cadence.detail_next
                out = model(x)
                if step:  # the first step's forward runs before the run starts (and makes its hooks)
                    seen["detail" if detailed else "light"].add(_hooks(model))
                nn.functional.cross_entropy(out, y).backward()
                opt.step()
            self.assertIsNone(monitor.link, "monitored inline")
            w.close()
            self.assertEqual(_hooks(model), 0, "the run's end removes every hook it made")
            with open(log) as f:
                steps = [line for line in f if '"type":"step"' in line]
        self.assertEqual(len(steps), 40)
        self.assertEqual(seen["light"], {0}, "a light step's forward pass runs without hooks")
        self.assertTrue(seen["detail"] and 0 not in seen["detail"], "a detailed step's forward pass runs its hooks")


if __name__ == "__main__":
    unittest.main()
