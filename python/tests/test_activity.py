"""Dead and saturated units are measured per call site: a shared activation module counts once for each
layer whose output it consumed."""
import unittest

import torch
from torch import nn

from optiscope import activity, naming


class SharedRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.relu = nn.ReLU()  # registered first, called after conv1, conv2 and fc1
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.fc1 = nn.Linear(6 * 16, 8)
        self.fc2 = nn.Linear(8, 2)
        with torch.no_grad():
            self.conv1.bias.fill_(-100.0)  # conv1: every unit dead on every input

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x) + 1.0)
        return self.fc2(self.relu(self.fc1(x.flatten(1))))


def measured(probe):
    return {(layer, kind): count / units for layer, kind, count, units in probe.take_host()}


class CallSitesTest(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.model = SharedRelu()
        self.layout = naming.build_layout(list(self.model.parameters()), [self.model])

    def test_a_shared_relu_is_measured_after_each_layer_it_follows(self):
        probe = activity.ActivityProbe(self.layout, lambda: True)
        self.model(torch.randn(32, 1, 4, 4))
        got = measured(probe)
        probe.close()
        self.assertEqual(sorted(got), [("conv1", "dead"), ("conv2", "dead"), ("fc1", "dead")])
        # Active counts: conv1 has no active unit at all; conv2 (bias + 1 after zeros) all active.
        self.assertEqual(got[("conv1", "dead")], 0.0)
        self.assertEqual(got[("conv2", "dead")], 1.0)

    def test_the_first_forward_pass_says_which_layers_an_activation_follows(self):
        activity.record_call_sites()
        marker = nn.Identity()  # stands for a monitor not yet started
        activity.expect_start(marker)
        try:
            self.model(torch.randn(4, 1, 4, 4))
        finally:
            activity.started(marker)
        self.assertIsNone(activity._recorder["handle"], "recording ends once every optimizer has started")
        probe = activity.ActivityProbe(self.layout, lambda: True)
        probe.close()
        self.assertEqual({l.name: probe.activation_of(l.name) for l in self.layout.layers},
                         {"conv1": "relu", "conv2": "relu", "fc1": "relu", "fc2": None})

    def test_without_a_recorded_pass_registration_order_is_the_guess(self):
        net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
        probe = activity.ActivityProbe(naming.build_layout(list(net.parameters()), [net]), lambda: True)
        net(torch.randn(8, 3))
        got = measured(probe)
        probe.close()
        self.assertEqual((probe.activation_of("0"), probe.activation_of("2")), ("tanh", "sigmoid"))
        self.assertEqual(sorted(got), [("0", "saturated"), ("2", "saturated")])


if __name__ == "__main__":
    unittest.main()
