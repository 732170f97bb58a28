"""Whether a run waits for the judge's verdicts (Monitor.waits) is derived when one of its inputs changes,
not at every step: each way an input changes keeps it equal to its definition, and both per-step readers
(await_judged, report_step's quiet event) read the same answer."""
import ast
import os
import tempfile
import unittest
from unittest import mock

import torch
from torch import nn

from optiscope import control, lockstep, monitor, offload
from optiscope.channel import open_channel
from optiscope.records import StepTaken
from optiscope.stats import StepStats

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "optiscope")
# The inputs, and the only functions that may assign them (each tells the monitor).
SETTERS = {"active": {"__init__", "set_active"}, "possible": {"__init__", "set_possible"}}


class InputsAreSetInOnePlaceTest(unittest.TestCase):
    def test_only_the_setters_assign_the_inputs(self):
        stray = []
        for name in sorted(os.listdir(PACKAGE)):
            if not name.endswith(".py"):
                continue
            with open(os.path.join(PACKAGE, name), encoding="utf-8") as f:
                tree = ast.parse(f.read())
            for fn in ast.walk(tree):
                if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                for node in ast.walk(fn):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
                    for t in targets:
                        for a in ast.walk(t):
                            if isinstance(a, ast.Attribute) and a.attr in SETTERS and fn.name not in SETTERS[a.attr]:
                                stray.append(f"{name}:{a.lineno} {fn.name} assigns .{a.attr}")
        self.assertEqual(stray, [], "assign it through LockStep.set_active / Probes.set_possible (they update Monitor.waits)")


class WaitsFollowsItsInputsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.channel = open_channel(env={"OPTISCOPE_LOG": os.path.join(self.dir.name, "run.ndjson")})

    def tearDown(self) -> None:
        self.channel.close()
        self.dir.cleanup()

    def started(self) -> monitor.Monitor:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
        m = monitor.Monitor(torch.optim.Adam(model.parameters(), lr=1e-3), self.channel, None, models=[model])
        with mock.patch.object(control, "available", return_value=True), mock.patch.object(control, "register"):
            m._start()  # in lock-step, as under the launcher
        return m

    def readers(self, m: monitor.Monitor):
        """What await_judged passes as `probes`, and whether report_step's event rings the Node side."""
        with mock.patch.object(m.lockstep, "await_judged") as waited:
            m.await_judged()
        s = StepStats(0.5, 0.01, 1.0, [], [], [], [])
        with mock.patch.object(m.report, "step") as step, mock.patch.object(monitor, "step_facts", return_value={}):
            m.report_step(s, True)
        return waited.call_args[0][5], not step.call_args[0][6]

    def check(self, m: monitor.Monitor, want: bool, why: str) -> None:
        self.assertEqual(want, m.lockstep.active and monitor.PROBE_BUDGET > 0 and m.probes.possible, why)
        self.assertEqual(m.waits, want, why)
        self.assertEqual(self.readers(m), (want, want), why)

    def test_each_input_flips_both_readers(self):
        m = self.started()
        self.check(m, True, "in lock-step, probes possible, a budget")
        m.on_control_closed()
        self.check(m, False, "the control channel closed")
        m.lockstep.set_active(True)
        self.check(m, True, "in lock-step again")
        m.probe_unavailable()
        self.check(m, False, "no second derivatives")
        m.probes.set_possible(True)
        self.check(m, True, "probes possible again")
        m._run_probe(None)
        self.check(m, False, "a probe found no graph to differentiate")

    def test_a_verdict_that_times_out(self):
        m = self.started()
        m.count_monitored()
        m.steps += 2
        with mock.patch.object(lockstep, "JUDGE_TIMEOUT", 0.01), mock.patch.object(control, "poll_until", return_value=False), \
                mock.patch.object(control, "start_reader"), mock.patch("sys.stderr"):
            m.await_judged()
        self.assertFalse(m.lockstep.active)
        self.check(m, False, "no verdict in time: the run stops waiting")

    def test_no_probe_budget(self):
        with mock.patch.object(monitor, "PROBE_BUDGET", 0.0):
            m = self.started()
            self.check(m, False, "OPTISCOPE_PROBE_BUDGET=0")
            m.probe_unavailable()
            m.probes.set_possible(True)
            self.check(m, False, "OPTISCOPE_PROBE_BUDGET=0, whatever else changes")

    def test_the_helper_reads_possible_from_the_step(self):
        m = self.started()
        helper = offload.Helper.__new__(offload.Helper)
        helper.m = m
        helper.grad_views, helper.weights, helper.copying = [], [], False
        for possible in (False, True, True, False):
            with mock.patch.object(m.stats, "after", return_value=StepStats(0.5, 0.01, 1.0, [], [], [], [])):
                helper._read_step(StepTaken(3, 0.5, [1e-3], True, possible, 0, True))
            self.check(m, possible, f"the training process says possible={possible}")


if __name__ == "__main__":
    unittest.main()
