"""The short paths keep inline twins of general code, for speed (a Python call saved at every step): each
twin is pinned here to what it copies, so the two cannot drift apart.
- offload.FastStep.post packs the step's slot as Link.publish_step does, and decides the next step as
  Cadence.decide_next does for a run monitored at every step;
- hooks.attach_step's step wrapper (torch 1.x) writes out _fast_pre, _light_pre, guarded and stop_if_asked,
  which the step hooks (torch 2.x) call: both take every path the same way."""
import itertools
import math
import unittest
from types import SimpleNamespace
from typing import Any, List
from unittest import mock

from optiscope import cadence as cadence_module, facts, hooks, offload, probes as probes_module
from optiscope.cadence import Cadence, StopTraining
from optiscope.lockstep import LockStep
from optiscope.probes import Probes

CTRL_BYTES = offload._RING_AT + offload.RING * offload._SLOT


def _link(sent: int, inplace: bool) -> offload.Link:
    link = offload.Link.__new__(offload.Link)
    link.ctrl = bytearray(CTRL_BYTES)
    offload._U64.pack_into(link.ctrl, offload._SEEN, max(sent - 3, 0))
    link.sent, link.expect, link.monitored, link.state_count = sent, 0, 5, 0
    link.inplace, link.alive, link.trigger, link.cmd_w = inplace, True, None, -1
    return link


def _state(c: Cadence) -> dict:
    return {k: v for k, v in vars(c).items() if k not in ("_params", "_hooks", "_roots")}


class FastStepTwinTest(unittest.TestCase):
    def post(self, steps: int, loss: float, lr: float, inplace: bool, possible: bool, rows: int, sent: int,
             auto_hvps: int, cadence: Cadence) -> offload.Link:
        """FastStep.post after step `steps` - 1, on a stand-in monitor: the link it published on."""
        link = _link(sent, inplace)
        probes = Probes(SimpleNamespace(param_groups=[]))
        probes.possible, probes.auto_hvps = possible, auto_hvps
        opt = SimpleNamespace(param_groups=[{"lr": lr}], state={})
        m = SimpleNamespace(optimizer=opt, link=link, cadence=cadence, probes=probes, lockstep=LockStep(), steps=steps - 1,
                            watched_loss=None, fast_steps=0, monitored_steps=steps - 1, report=SimpleNamespace(last_loss=None),
                            activity=SimpleNamespace(batch_rows=rows, attach=lambda finite: None, detach=lambda: None),
                            arm_probe=lambda trigger: None)
        fast = offload.FastStep(m, link)
        fast.value = loss
        fast.post(None)
        self.assertEqual(m.steps, steps)
        return link

    def test_the_slot_is_publish_steps(self):
        n = 0
        for budget in (0.0, 0.03):
            with mock.patch.object(probes_module, "PROBE_BUDGET", budget):
                for steps, loss, lr, inplace, possible, rows, sent, auto_hvps in itertools.product(
                        (1, 2, 63, 1 << 33), (0.5, -3.25, 1e-300, 1.7e308), (1e-3, 0.0, 2.5e10), (False, True), (False, True),
                        (0, 32, 1 << 40), (0, 7, 31, 1000), (0, 10 ** 6)):
                    fast = self.post(steps, loss, lr, inplace, possible, rows, sent, auto_hvps, Cadence(list, 1, 0, None))
                    general = _link(sent, inplace)
                    probes = Probes(SimpleNamespace(param_groups=[]))
                    probes.auto_hvps = auto_hvps
                    affordable = probes.affordable_now(steps)  # Monitor._post_offloaded's, hessian_every being 0
                    general.publish_step(steps, loss, [lr], affordable, possible, rows)
                    self.assertEqual(bytes(fast.ctrl), bytes(general.ctrl), (steps, loss, lr, inplace, possible, rows, sent, budget))
                    self.assertEqual(fast.sent, general.sent)
                    n += 1
        self.assertGreater(n, 1000)

    def test_the_next_step_is_decide_nexts(self):
        for light, every, warmup in itertools.product((False, True), (1, 3), (0, 20)):
            for steps in range(1, 80):
                fast, general = Cadence(list, every, 0, None), Cadence(list, every, 0, None)
                for c in (fast, general):
                    c.light = light
                    c._shape = (1000, 4, 2)
                    c.next_detail = 0
                with mock.patch.object(cadence_module, "DETAIL_WARMUP", warmup):
                    self.post(steps, 0.5, 1e-3, False, True, 32, 0, 0, fast)
                    general.decide_next(steps, True, True)
                    general.plan_activity(SimpleNamespace(attach=lambda finite: None, detach=lambda: None), steps, steps)
                self.assertEqual(_state(fast), _state(general), (light, every, warmup, steps))


class Stand:
    """A monitor as the step wrapper and the step hooks see it, that logs what they make it do."""

    def __init__(self, log: List[Any], fast: Any, light: Any, link: bool, stop: bool) -> None:
        self.log, self.ended, self.started = log, False, True
        self.fast = SimpleNamespace(pre=self.act("fast.pre", fast[0]), post=self.act("fast.post", fast[1])) if fast else None
        self.link = object() if link else None
        # InlineLight.pre is False at once for an offloaded run (the wrapper does not ask it then)
        self.inline_light = SimpleNamespace(pre=self.act("light.pre", light[0]) if not link else lambda loss: False,
                                            post=self.act("light.post", light[1]))
        self.channel = SimpleNamespace(stop_requested=stop)
        self.optimizer = None

    def act(self, name: str, outcome: Any) -> Any:
        def call(*args: Any) -> Any:
            self.log.append(name)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        return call

    def fail(self, e: BaseException) -> None:  # as Monitor.fail
        self.log.append(("fail", str(e)))
        self.fast = None
        self.ended = True

    def pre_step(self, *args: Any) -> None:
        if not self.ended:
            self.log.append(("pre_step",) + args[:1])

    def post_step(self, *args: Any) -> None:
        if not self.ended:
            self.log.append("post_step")

    def end(self, reason: str) -> None:
        self.log.append(("end", reason))
        self.ended = True


class Wrapped:
    def step(self, closure: Any = None) -> str:
        self.log.append("step")
        return "out"


class Hooked(Wrapped):
    def register_step_pre_hook(self, hook: Any) -> Any:
        self.pre = hook
        return SimpleNamespace(remove=lambda: None)

    def register_step_post_hook(self, hook: Any) -> Any:
        self.post = hook
        return SimpleNamespace(remove=lambda: None)

    def step(self, closure: Any = None) -> str:
        self.pre(self, (), {})
        out = super().step()
        self.post(self, (), {})
        return out


class StepWrapperTwinTest(unittest.TestCase):
    def run_step(self, cls: type, fast: Any, light: Any, link: bool, stop: bool) -> List[Any]:
        log: List[Any] = []
        opt = cls()
        opt.log = log
        m = Stand(log, fast, light, link, stop)
        hooks.attach_step(opt, m)  # type: ignore[arg-type]
        try:
            with mock.patch.object(hooks, "take_loss", return_value="loss"), \
                    mock.patch.object(facts, "after_step", lambda *a: log.append("after_step")):
                log.append(("returned", opt.step()))
        except StopTraining:
            log.append("StopTraining")
        finally:
            hooks.detach_step(m)  # type: ignore[arg-type]
        return log

    def test_both_take_every_path_alike(self):
        boom = RuntimeError("boom")
        fasts = [None, (True, None), (False, None), (boom, None), (True, boom)]
        lights = [(True, None), (False, None), (boom, None), (True, boom)]
        paths = set()
        for fast, light, link, stop in itertools.product(fasts, lights, (False, True), (False, True)):
            wrapped = self.run_step(Wrapped, fast, light, link, stop)
            hooked = self.run_step(Hooked, fast, light, link, stop)
            self.assertEqual(wrapped, hooked, (fast, light, link, stop))
            paths.add(tuple(x if isinstance(x, str) else x[0] for x in wrapped))
        self.assertGreater(len(paths), 8)  # the cases take many different paths


if __name__ == "__main__":
    unittest.main()
