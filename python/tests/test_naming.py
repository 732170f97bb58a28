"""Layers are reported with the type of the module that owns them (and its sizes): facts the
extension formats as `net.0 (Linear 10→32)`."""
import unittest

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


if __name__ == "__main__":
    unittest.main()
