"""hooks.install / uninstall are symmetric: everything patched is restored, and a model and optimizer
that were watched and then unwatched train exactly as ones that never were."""
import os
import tempfile
import unittest
from collections import OrderedDict
from typing import Any, Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.hooks import RemovableHandle

from optiscope import hooks, overrides
from optiscope.channel import Channel

# Every namespace the bridge patches (hooks.py, facts.py, overrides.py).
PATCHED = [nn.Module, torch.optim.Optimizer, torch.optim.Adam, torch.autograd, F, torch.Tensor, nn.init,
           getattr(torch.optim.lr_scheduler, "LRScheduler", None) or torch.optim.lr_scheduler._LRScheduler,
           torch.optim.lr_scheduler.StepLR]


def namespaces() -> List[Dict[str, Any]]:
    """What each patched namespace holds, attribute by attribute (plus torch.softmax, on the huge torch module)."""
    return [dict(vars(ns)) for ns in PATCHED] + [{"softmax": torch.softmax}]


def global_hooks() -> Tuple[int, ...]:
    from torch.nn.modules import module as m

    names = ["_global_forward_pre_hooks", "_global_forward_hooks", "_global_backward_hooks"]
    return tuple(len(getattr(m, n, {})) for n in names)


class HookedAdam(torch.optim.Adam):
    """Adam with torch 2.x's step hooks (the bridge then uses them instead of wrapping step()), on any torch."""

    def register_step_pre_hook(self, hook: Any) -> RemovableHandle:
        self.__dict__.setdefault("_optimizer_step_pre_hooks", OrderedDict())
        handle = RemovableHandle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook: Any) -> RemovableHandle:
        self.__dict__.setdefault("_optimizer_step_post_hooks", OrderedDict())
        handle = RemovableHandle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[handle.id] = hook
        return handle

    def step(self, *args: Any, **kwargs: Any) -> Any:
        for hook in list(self.__dict__.get("_optimizer_step_pre_hooks", {}).values()):
            hook(self, args, kwargs)
        out = super().step(*args, **kwargs)
        for hook in list(self.__dict__.get("_optimizer_step_post_hooks", {}).values()):
            hook(self, args, kwargs)
        return out


def make(seed: int = 5, adam: Any = torch.optim.Adam) -> Tuple[nn.Module, torch.optim.Optimizer, Any]:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 3))
    opt = adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.5)
    return model, opt, sched


def train(model: nn.Module, opt: torch.optim.Optimizer, sched: Any, steps: range) -> List[float]:
    losses = []
    for i in steps:
        g = torch.Generator().manual_seed(100 + i)
        x = torch.randn(16, 6, generator=g)
        y = torch.randint(0, 3, (16,), generator=g)
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses


def assert_unwatched(case: unittest.TestCase, model: nn.Module, opt: torch.optim.Optimizer) -> None:
    """Nothing of Optiscope is left on this model and optimizer."""
    case.assertNotIn("step", vars(opt), "the optimizer's step() is its class's again")
    case.assertFalse(hasattr(opt, "_optiscope"))
    for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks"):
        case.assertEqual(len(getattr(opt, name, {})), 0, name)
    for mod in model.modules():
        for name in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks"):
            case.assertEqual(len(getattr(mod, name)), 0, f"{name} of {type(mod).__name__}")


class UninstallTest(unittest.TestCase):
    def test_install_then_uninstall_restores_everything(self):
        # From a clean state: other tests in this process may have watched optimizers (optiscope.watch
        # installs the loss hook and leaves it for the process's lifetime).
        hooks.uninstall()
        module_init, opt_init, backward = nn.Module.__init__, torch.optim.Optimizer.__init__, torch.autograd.backward
        events = []
        hooks.install(Channel(lambda b: events.append(b)), every=None, script=None, max_steps=None, hessian_every=0)
        try:
            self.assertIsNot(nn.Module.__init__, module_init)
            model = nn.Linear(2, 1)
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            loss = model(torch.ones(3, 2)).pow(2).mean()
            loss.backward()
            opt.step()
            self.assertTrue(events, "the step was watched")
        finally:
            hooks.uninstall()
        self.assertIs(nn.Module.__init__, module_init)
        self.assertIs(torch.optim.Optimizer.__init__, opt_init)
        self.assertIs(torch.autograd.backward, backward)
        self.assertEqual(hooks.monitors, [])
        seen = len(events)
        opt.zero_grad()
        model(torch.ones(3, 2)).pow(2).mean().backward()
        opt.step()
        self.assertEqual(len(events), seen, "after uninstall the optimizer is not watched")
        hooks.install(Channel(lambda b: None), every=None, script=None, max_steps=None, hessian_every=0)
        hooks.uninstall()  # installs again after an uninstall, and undoes it again
        self.assertIs(nn.Module.__init__, module_init)


    def test_a_watched_then_unwatched_model_trains_exactly_as_an_unwatched_one(self):
        hooks.uninstall()
        torch.manual_seed(0)  # dropout draws from the global generator: both runs start it alike
        model, opt, sched = make()
        plain = train(model, opt, sched, range(30))
        expected = [p.detach().clone() for p in model.parameters()]
        # Taken after torch's own first-use patching (the first Adam wraps Adam.step for the profiler).
        before, hooks_before = namespaces(), global_hooks()

        # A file, as optiscope.watch(log=...) writes: the helper process (a fork) writes to it too.
        log = tempfile.NamedTemporaryFile(suffix=".ndjson", delete=False)
        self.addCleanup(os.unlink, log.name)
        f = open(log.name, "ab", buffering=0)
        hooks.install(Channel(f.write, f.close), every=None, script=None, max_steps=None, hessian_every=0)
        try:
            self.assertNotEqual(namespaces(), before, "install patches")
            torch.manual_seed(0)
            model, opt, sched = make()
            watched = train(model, opt, sched, range(15))
            self.assertTrue(hooks.monitors and hooks.monitors[0].steps == 15, "the first 15 steps were watched")
        finally:
            hooks.uninstall()
        with open(log.name, encoding="utf-8") as r:
            events = r.read()
        self.assertEqual(events.count('"type":"step"'), 15)
        self.assertIn('"type":"end"', events, "uninstall ends the run")

        self.assertEqual(namespaces(), before, "every patched attribute is the original again")
        self.assertEqual(global_hooks(), hooks_before, "no global module hook is left")
        assert_unwatched(self, model, opt)
        watched += train(model, opt, sched, range(15, 30))
        with open(log.name, encoding="utf-8") as r:
            self.assertEqual(r.read(), events, "nothing is reported after uninstall")
        f.close()
        self.assertEqual(watched, plain, "the same losses, to the last bit")
        for got, want in zip(model.parameters(), expected):
            self.assertTrue(torch.equal(got.detach(), want), "the same parameters, to the last bit")

    def test_uninstall_removes_the_set_clipping_wrapper(self):
        hooks.uninstall()
        saved = overrides._cache
        overrides._cache = {"training.clip.norm": 0.5}
        try:
            for adam in (torch.optim.Adam, HookedAdam):  # the step wrapped by the bridge, or its hooks
                hooks.install(Channel(lambda b: None), every=None, script=None, max_steps=None, hessian_every=0)
                try:
                    model, opt, sched = make(adam=adam)
                    self.assertIn("step", vars(opt), "--set training.clip.norm wraps step()")
                    train(model, opt, sched, range(3))
                    self.assertEqual(hooks.monitors[0].steps, 3)
                finally:
                    hooks.uninstall()
                assert_unwatched(self, model, opt)
        finally:
            overrides._cache = saved


if __name__ == "__main__":
    unittest.main()
