"""hooks.install / uninstall are symmetric: everything patched is restored."""
import unittest

import torch
from torch import nn

from optiscope import hooks
from optiscope.channel import Channel


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


if __name__ == "__main__":
    unittest.main()
