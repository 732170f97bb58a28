"""An inline light step's short path (light.InlineLight, taken from hooks.py) writes the very stream the
general path (Monitor.pre_step/post_step) writes: same events, fields and values, byte for byte but the
times, over a run past the detailed warm-up with an lr schedule and a NaN at its end."""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
from typing import List, Tuple

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = """
import os, sys
import torch, torch.nn as nn
from optiscope import light
taken = [0]
if os.environ["PATH_UNDER_TEST"] == "general":
    light.InlineLight.pre = lambda self, loss: False
else:
    post = light.InlineLight.post
    def counted(self, loss):
        taken[0] += 1
        post(self, loss)
    light.InlineLight.post = counted
torch.set_num_threads(1)
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 4))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=150, gamma=0.5)
x, y = torch.randn(256, 8), torch.randint(0, 4, (256,))
for step in range(700):
    i = torch.arange(step * 16 % 256, step * 16 % 256 + 16)
    xb = x[i] * (float("nan") if step == 690 else 1.0)
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(xb), y[i])
    loss.backward()
    opt.step()
    sched.step()
sys.stderr.write(f"short path {taken[0]}\\n")
"""


def run(d: str, path: str) -> Tuple[List[str], str]:
    """The script in folder `d` (the same for both paths: the stream names it) with the given light-step path."""
    script, log = os.path.join(d, "train.py"), os.path.join(d, f"{path}.ndjson")
    with open(script, "w", encoding="utf-8") as f:
        f.write(SCRIPT)
    env = dict(os.environ, PYTHONPATH=PACKAGE, OPTISCOPE_LOG=log, OPTISCOPE_OFFLOAD="0", PATH_UNDER_TEST=path,
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    for k in ("OPTISCOPE_EVENT_FD", "OPTISCOPE_WAKE_FD", "OPTISCOPE_EVERY", "OPTISCOPE_STEPS", "OPTISCOPE_CONTROL_FD"):
        env.pop(k, None)
    p = subprocess.run([sys.executable, "-m", "optiscope.run", script], env=env, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise AssertionError(p.stderr)
    with open(log, encoding="utf-8") as f:
        return f.read().splitlines(), p.stderr


class InlineLightTest(unittest.TestCase):
    def test_the_short_path_streams_what_the_general_path_streams(self):
        with tempfile.TemporaryDirectory() as d:
            general, _ = run(d, "general")
            short, stderr = run(d, "short")
        taken = int(re.search(r"short path (\d+)", stderr).group(1))
        events = [json.loads(line) for line in general]
        light = [e for e in events if e["type"] == "step" and e["layers"] == []]
        self.assertGreater(len(light), 150, "the run has light steps past the warm-up")
        self.assertGreater(taken, 150, "most of them took the short path")
        self.assertEqual(len({e["lr"] for e in light}), 2, "the schedule changed the lr between light steps")
        self.assertTrue(any(e["type"] == "step" and e["loss"] == "NaN" and e["layers"] for e in events),
                        "the NaN step is detailed")
        timeless = [{k: v for k, v in json.loads(line).items() if k not in ("time", "wallMs")} for line in short]
        self.assertEqual(timeless, [{k: v for k, v in e.items() if k not in ("time", "wallMs")} for e in events])
        light_lines = [line for line in general if '"layers":[]' in line]
        self.assertEqual([line for line in short if '"layers":[]' in line], light_lines, "light steps byte for byte")


if __name__ == "__main__":
    unittest.main()
