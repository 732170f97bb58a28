"""Layers are reported with the type of the module that owns them (and its sizes): facts the
extension formats as `net.0 (Linear 10→32)`; their names are paths a person recognises."""
import unittest

import torch
from torch import nn

from optiscope import naming


class ModuleInfoTest(unittest.TestCase):
    def test_common_types_report_their_sizes(self):
        self.assertEqual(naming.module_info(nn.Linear(10, 32)), {"type": "Linear", "in": 10, "out": 32})
        self.assertEqual(naming.module_info(nn.Conv2d(3, 8, 3)), {"type": "Conv2d", "in": 3, "out": 8})
        self.assertEqual(naming.module_info(nn.Embedding(100, 16)), {"type": "Embedding", "in": 100, "out": 16})
        self.assertEqual(naming.module_info(nn.LayerNorm(64)), {"type": "LayerNorm", "in": 64, "out": 64})

    def test_other_modules_report_their_type_only(self):
        class Scale(nn.Module):
            pass

        self.assertEqual(naming.module_info(Scale()), {"type": "Scale"})
        self.assertIsNone(naming.module_info(None))

    def test_layout_of_a_sequential_keeps_each_layer_module(self):
        net = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))
        layout = naming.build_layout(list(net.parameters()), [net])
        self.assertEqual([(l.name, naming.module_info(l.module)) for l in layout.layers],
                         [("0", {"type": "Linear", "in": 10, "out": 32}), ("2", {"type": "Linear", "in": 32, "out": 1})])


class LayerNamesTest(unittest.TestCase):
    def test_two_sequential_subnetworks_are_named_by_their_variables(self):
        feature_net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32))
        head = nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 3))
        names = naming.variable_names(1)
        self.assertEqual(names[id(feature_net)], "feature_net")
        both = [feature_net, head]
        self.assertEqual([l.name for l in naming.build_layout(list(feature_net.parameters()), both, names).layers],
                         ["feature_net.0", "feature_net.2"])
        self.assertEqual([l.name for l in naming.build_layout(list(head.parameters()), both, names).layers], ["head.0", "head.2"])
        # A model class's own submodules keep their attribute paths.
        model = _Classifier()
        self.assertEqual([l.name for l in naming.build_layout(list(model.parameters()), [model], naming.variable_names(1)).layers],
                         ["_Classifier.pos", "tok", "fc"])
        # A bare module handed to an optimizer is its variable, not its type.
        classifier = nn.Linear(32, 3)
        self.assertEqual([l.name for l in naming.build_layout(list(classifier.parameters()), [classifier], naming.variable_names(1)).layers],
                         ["classifier"])

    def test_a_module_outside_every_optimizer_is_named_as_its_layers_would_be(self):
        head = nn.Sequential(nn.Linear(4, 2))
        model = _Classifier()
        names = naming.variable_names(1)
        self.assertEqual(naming.module_display_name(head, "0", names), "head.0")
        self.assertEqual(naming.module_display_name(model, "fc", names), "fc")
        self.assertEqual(naming.module_display_name(model, "", names), "_Classifier")

    def test_a_models_own_tensors_are_layers_named_by_attribute(self):
        model = _Classifier()
        layout = naming.build_layout(list(model.parameters()), [model])
        self.assertEqual([l.name for l in layout.layers], ["_Classifier.pos", "tok", "fc"])
        self.assertEqual(naming.layer_module_info(layout.layers[0]), {"type": "Parameter 1×6×8"})
        self.assertEqual(naming.layer_module_info(layout.layers[2]), {"type": "Linear", "in": 8, "out": 2})
        self.assertEqual([l.own_tensor for l in layout.layers], [True, False, False])

    def test_a_custom_layers_own_weight_and_bias_stay_one_compute_layer(self):
        class Dense(nn.Module):  # its own weight and bias beside a child activation
            def __init__(self):
                super().__init__()
                self.weight = nn.Parameter(torch.randn(4, 3))
                self.bias = nn.Parameter(torch.zeros(4))
                self.act = nn.ReLU()

        model = nn.Sequential(Dense(), nn.Linear(4, 1))
        layout = naming.build_layout(list(model.parameters()), [model])
        self.assertEqual([(l.name, len(l.params), l.own_tensor) for l in layout.layers], [("0", 2, False), ("1", 2, False)])
        self.assertEqual(naming.layer_module_info(layout.layers[0]), {"type": "Dense"})

    def test_a_head_replaced_after_the_optimizer_keeps_its_name(self):
        model = nn.Module()
        model.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
        model.fc = nn.Linear(8, 10)
        params = list(model.parameters())
        earlier = naming.build_layout(params, [model])
        old = model.fc
        model.fc = nn.Linear(8, 4)  # the optimizer still holds the old head's parameters
        candidates = [model, model.fc, old, *model.modules()]
        layout = naming.build_layout(params, candidates, earlier=earlier)
        self.assertEqual([l.name for l in layout.layers], ["body.0", "fc (replaced)"])
        self.assertIs(layout.layers[1].module, old)
        del model.fc
        self.assertEqual([l.name for l in naming.build_layout(params, [model, old], earlier=earlier).layers], ["body.0", "fc (removed)"])


class _Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.pos = nn.Parameter(torch.zeros(1, 6, 8))
        self.tok = nn.Embedding(10, 8)
        self.fc = nn.Linear(8, 2)


if __name__ == "__main__":
    unittest.main()
