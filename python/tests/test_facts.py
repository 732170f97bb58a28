"""facts.py against real torch: small scripts run under `python -m optiscope.run` (the patches are
process-wide, so each script gets a fresh interpreter), and the `fact` events they stream."""
import os as _os, sys as _sys  # noqa: E401 - the package lives next to this folder
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest
from typing import Any, Dict, List, Tuple

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


_results: Dict[Tuple[str, int], Any] = {}


def run_script(body: str, steps: int = 8) -> Tuple[List[Dict[str, Any]], str]:
    """The events of `body` run under optiscope.run (every script of this module is started at once, in
    parallel, on first use: each needs a fresh interpreter, and importing torch dominates)."""
    if not _results:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=len(SCRIPTS)) as pool:
            futures = {key: pool.submit(_run_script, *key) for key in SCRIPTS}
            _results.update({key: f for key, f in futures.items()})
    return _results[(body, steps)].result()


def _run_script(body: str, steps: int = 8) -> Tuple[List[Dict[str, Any]], str]:
    """Runs `body` as a script under optiscope.run; returns its events and the script's path."""
    with tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "train.py")
        log = os.path.join(d, "log.ndjson")
        with open(script, "w") as f:
            f.write(textwrap.dedent(body))
        env = {**os.environ, "PYTHONPATH": PYTHON_DIR, "OPTISCOPE_LOG": log, "OPTISCOPE_STEPS": str(steps),
               "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1"}
        env.pop("OPTISCOPE_EVENT_FD", None)
        r = subprocess.run([sys.executable, "-m", "optiscope.run", script], cwd=d, env=env, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise AssertionError(r.stderr)
        with open(log) as f:
            return [json.loads(line) for line in f if line.strip()], script


def facts(events: List[Dict[str, Any]], kind: str) -> List[Dict[str, Any]]:
    return [dict(e["fact"], step=e["step"]) for e in events if e["type"] == "fact" and e["fact"]["kind"] == kind]


def line_of(script_body: str, marker: str) -> int:
    for i, text in enumerate(textwrap.dedent(script_body).splitlines(), 1):
        if marker in text:
            return i
    raise AssertionError(marker)


PRELUDE = """
import torch
from torch import nn
torch.manual_seed(0)
x = torch.randn(64, 4)
y = torch.randn(64, 1)
"""


FORGOT_RESET = PRELUDE + """
model = nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for i in range(8):
    nn.functional.mse_loss(model(x), y).backward()
    opt.step()
"""

ACCUMULATE = PRELUDE + """
model = nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for i in range(8):
    for k in range(3):
        (nn.functional.mse_loss(model(x[k::3]), y[k::3]) / 3).backward()
    opt.step()
    opt.zero_grad()
"""

UNOPTIMIZED = PRELUDE + """
a = nn.Linear(4, 8)
b = nn.Linear(8, 1)  # not optimized
opt = torch.optim.SGD(a.parameters(), lr=0.01)
for i in range(4):
    opt.zero_grad()
    nn.functional.mse_loss(b(torch.relu(a(x))), y).backward()
    opt.step()
"""

TWO_OPTIMIZERS = PRELUDE + """
a = nn.Linear(4, 8)
b = nn.Linear(8, 1)
o1 = torch.optim.SGD(a.parameters(), lr=0.01)
o2 = torch.optim.Adam(b.parameters(), lr=0.01)
for i in range(4):
    o1.zero_grad(); o2.zero_grad()
    nn.functional.mse_loss(b(torch.relu(a(x))), y).backward()
    o1.step(); o2.step()
"""

EVAL_MID_RUN = PRELUDE + """
model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for i in range(12):
    if i == 6:
        model.eval()  # here
    opt.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()
    opt.step()
"""

GRAPH = PRELUDE + """
import torch.nn.functional as F
lin = nn.Linear(4, 3)
head = nn.Linear(4, 1)
soft = nn.Softmax(dim=1)  # softmax
opt = torch.optim.SGD(list(lin.parameters()) + list(head.parameters()), lr=0.01)
labels = torch.randint(0, 3, (64,))
for i in range(5):
    opt.zero_grad()
    ce = F.cross_entropy(soft(lin(x)), labels)
    ok1 = F.nll_loss(F.log_softmax(lin(x), 1), labels)
    ok2 = F.nll_loss(torch.log(torch.softmax(lin(x), 1)), labels)
    mse = nn.MSELoss()(head(x), y[:, 0])  # broadcast
    (ce + ok1 + ok2 + mse).backward()
    opt.step()
assert torch.Tensor.softmax is torch._C._TensorBase.softmax
"""

INIT_AND_SCHEDULER = """
import torch
from torch import nn
torch.manual_seed(0)
x = torch.randn(64, 3) * torch.tensor([1.0, 1000.0, 1.0]) + torch.tensor([0.0, 5000.0, 0.0])
y = torch.randn(64, 1)
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(3))
        self.a = nn.Linear(3, 8)
        self.b = nn.Linear(8, 8)
        self.c = nn.Linear(8, 1)
        nn.init.zeros_(self.c.weight)
    def forward(self, x):
        return self.c(torch.tanh(self.b(torch.tanh(self.a(x * self.scale)))))
model = Net()
for m in (model.a, model.b):
    nn.init.constant_(m.weight, 0.1)  # constant
    nn.init.zeros_(m.bias)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
sched = torch.optim.lr_scheduler.StepLR(opt, 2)  # created
for i in range(4):
    opt.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()
    opt.step()
    sched.step()  # stepped
"""

CLIP = PRELUDE + """
model = nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for i in range(16):
    opt.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()
    if i < 6:
        nn.utils.clip_grad_norm_(model.parameters(), 0.01)  # tight
    elif i < 10:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=100.0)  # loose
    else:
        nn.utils.clip_grad_value_(model.parameters(), 1e-4)  # by value
    opt.step()
"""

ZERO_BEFORE_STEP = PRELUDE + """
model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
for p in model[0].parameters():
    p.requires_grad = False
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for i in range(6):
    nn.functional.mse_loss(model(x), y).backward()
    opt.zero_grad()  # between
    opt.step()
"""

SCRIPTS = [(ZERO_BEFORE_STEP, 6), (CLIP, 16), (FORGOT_RESET, 8), (ACCUMULATE, 8), (UNOPTIMIZED, 8), (TWO_OPTIMIZERS, 8), (EVAL_MID_RUN, 12), (GRAPH, 8), (INIT_AND_SCHEDULER, 4)]


class GradientReset(unittest.TestCase):
    def test_no_reset_vs_deliberate_accumulation(self) -> None:
        forgot = FORGOT_RESET
        events, _ = run_script(forgot)
        resets = facts(events, "grad-reset")
        self.assertGreaterEqual(len(resets), 3)
        self.assertTrue(all(f["reset"] is False and f["backwards"] == 1 for f in resets))

        accumulate = ACCUMULATE
        events, _ = run_script(accumulate)
        resets = facts(events, "grad-reset")
        self.assertGreaterEqual(len(resets), 3)
        self.assertTrue(all(f["reset"] is True and f["backwards"] == 3 for f in resets), resets)


class ResetBeforeStep(unittest.TestCase):
    def test_zero_at_step_with_the_zero_grad_line_and_frozen_layers(self) -> None:
        events, _ = run_script(ZERO_BEFORE_STEP, 6)
        resets = facts(events, "grad-reset")
        self.assertGreaterEqual(len(resets), 3)
        self.assertTrue(all(f["reset"] is True and f.get("zeroAtStep") is True for f in resets), resets)
        self.assertEqual(resets[0]["zeroSource"]["line"], line_of(ZERO_BEFORE_STEP, "# between"))
        layers = facts(events, "layer-order")[0]["layers"]
        self.assertEqual([(l["name"], l.get("frozen", False)) for l in layers], [("model.0", True), ("model.2", False)])
        # A correct loop (FORGOT_RESET aside, every other script) never reports a zero gradient at step().
        events, _ = run_script(ACCUMULATE)
        self.assertFalse(any(f.get("zeroAtStep") for f in facts(events, "grad-reset")))


class Clipping(unittest.TestCase):
    def test_clip_calls_with_limit_size_before_and_line(self) -> None:
        events, _ = run_script(CLIP, 16)
        found = facts(events, "grad-clip")
        got = [(f["step"], f["method"], f["limit"], f["clipped"], f["source"]["line"]) for f in found]
        self.assertEqual(got, [(1, "norm", 0.01, True, line_of(CLIP, "# tight")),
                               (7, "norm", 100.0, False, line_of(CLIP, "# loose")),
                               (11, "value", 1e-4, True, line_of(CLIP, "# by value"))])
        self.assertGreater(found[0]["before"], 0.01)  # the norm before clipping, not after
        # The clipped gradient is what step() applied and what the step event reports.
        steps = {e["step"]: e for e in events if e["type"] == "step"}
        self.assertAlmostEqual(steps[1]["gradNorm"], 0.01, places=4)


WATCHED = PRELUDE + """
import sys
import optiscope
model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 3), nn.Softmax(dim=1))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
labels = torch.randint(0, 3, (64,))
w = optiscope.watch(model, opt, log=sys.argv[1])
model.eval()  # eval
for i in range(8):
    nn.functional.cross_entropy(model(x * 500), labels).backward()  # no zero_grad
    nn.utils.clip_grad_norm_(model.parameters(), 1e-3)  # clip
    opt.step()
w.close()
"""


class ExplicitMode(unittest.TestCase):
    def test_watch_reports_the_facts_of_its_steps(self) -> None:
        """optiscope.watch (no launcher, no zero-code patches of module creation) measures the same facts."""
        with tempfile.TemporaryDirectory() as d:
            script = os.path.join(d, "watched.py")
            log = os.path.join(d, "log.ndjson")
            with open(script, "w") as f:
                f.write(textwrap.dedent(WATCHED))
            env = {**os.environ, "PYTHONPATH": PYTHON_DIR, "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1"}
            for k in ("OPTISCOPE_EVENT_FD", "OPTISCOPE_LOG", "OPTISCOPE_STEPS"):
                env.pop(k, None)
            r = subprocess.run([sys.executable, script, log], cwd=d, env=env, capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(log) as f:
                events = [json.loads(line) for line in f if line.strip()]
        kinds = {e["fact"]["kind"] for e in events if e["type"] == "fact"}
        self.assertTrue({"step-call", "layer-order", "input-stats", "grad-reset", "module-mode", "softmax-into-loss", "grad-clip"} <= kinds, kinds)
        self.assertTrue(all(f["reset"] is False for f in facts(events, "grad-reset")))
        self.assertEqual(facts(events, "module-mode")[0]["source"]["line"], line_of(WATCHED, "# eval"))
        self.assertEqual(facts(events, "grad-clip")[0]["source"]["line"], line_of(WATCHED, "# clip"))
        self.assertEqual(facts(events, "step-call")[0]["source"]["line"], line_of(WATCHED, "opt.step()"))
        self.assertGreater(facts(events, "input-stats")[0]["featureRmsMax"], 100)


class Parameters(unittest.TestCase):
    def test_module_outside_every_param_group(self) -> None:
        body = UNOPTIMIZED
        events, script = run_script(body)
        found = facts(events, "unoptimized-params")
        self.assertEqual(len(found), 1, found)
        self.assertEqual(found[0]["parameters"], 9)
        self.assertEqual(found[0]["source"]["line"], line_of(body, "# not optimized"))

    def test_two_optimizers_cover_everything(self) -> None:
        body = TWO_OPTIMIZERS
        events, _ = run_script(body)
        self.assertEqual(facts(events, "unoptimized-params"), [])


class Modes(unittest.TestCase):
    def test_eval_line_is_reported(self) -> None:
        body = EVAL_MID_RUN
        events, _ = run_script(body, steps=12)
        modes = facts(events, "module-mode")
        self.assertEqual(len(modes), 1, modes)
        self.assertEqual(modes[0]["evalModules"], ["1"])
        self.assertEqual(modes[0]["step"], 10)  # sampled every MODE_EVERY steps after the first ones
        self.assertEqual(modes[0]["source"]["line"], line_of(body, "# here"))


class Graph(unittest.TestCase):
    def test_shapes_softmax_and_restored_patches(self) -> None:
        body = GRAPH
        events, _ = run_script(body)
        soft = facts(events, "softmax-into-loss")
        self.assertEqual(len(soft), 1, soft)
        self.assertEqual(soft[0]["loss"], "cross_entropy")
        self.assertEqual(soft[0]["source"]["line"], line_of(body, "# softmax"))
        shapes = facts(events, "loss-shapes")
        self.assertEqual(len(shapes), 1, shapes)
        self.assertEqual((shapes[0]["input"], shapes[0]["target"], shapes[0]["broadcast"]), ([64, 1], [64], [64, 64]))
        self.assertEqual(shapes[0]["source"]["line"], line_of(body, "# broadcast"))


class Init(unittest.TestCase):
    def test_input_stats_identical_units_and_roles(self) -> None:
        body = INIT_AND_SCHEDULER
        events, _ = run_script(body, steps=4)
        stats = facts(events, "input-stats")
        self.assertEqual(len(stats), 1)
        import torch

        torch.manual_seed(0)
        x = torch.randn(64, 3) * torch.tensor([1.0, 1000.0, 1.0]) + torch.tensor([0.0, 5000.0, 0.0])
        self.assertAlmostEqual(stats[0]["mean"], float(x.mean()), delta=1e-3 * abs(float(x.mean())))
        self.assertAlmostEqual(stats[0]["featureMeanMax"], float(x.mean(0).abs().max()), delta=1.0)
        self.assertEqual(stats[0]["layer"], "Net.scale")  # the model's own scale parameter is called first
        same = facts(events, "identical-units")
        # a (8 identical units, b's columns identical) and b (c's columns identical: zeros); c is the output.
        self.assertEqual([f["layer"] for f in same], ["a", "b"])
        self.assertEqual(same[0]["outgoing"], "identical")
        self.assertEqual(same[0]["source"]["line"], line_of(body, "# constant"))
        order = facts(events, "layer-order")[0]["layers"]
        self.assertEqual([(l["name"], l["role"]) for l in order], [("Net.scale", "positional"), ("a", "compute"), ("b", "compute"), ("c", "compute")])
        sched = facts(events, "scheduler")
        self.assertEqual(len(sched), 1)
        self.assertEqual(sched[0]["created"]["line"], line_of(body, "# created"))
        self.assertEqual(sched[0]["stepped"]["line"], line_of(body, "# stepped"))


if __name__ == "__main__":
    unittest.main()
