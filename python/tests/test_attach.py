"""Attaching: the rendezvous file is trusted only when owner-only; a script's two watches from one line
both stay live (only a re-run notebook cell ends its earlier run)."""
import os as _os, sys as _sys  # noqa: E401 - the package lives next to this folder
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import json
import os
import tempfile
import unittest

import torch

import optiscope
from optiscope.attach import find_rendezvous, is_cell_file

torch.set_num_threads(1)


class RendezvousTest(unittest.TestCase):
    def test_owner_only_file_found_walking_up(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, ".optiscope"))
            os.makedirs(os.path.join(d, "a", "b"))
            path = os.path.join(d, ".optiscope", "attach.json")
            with open(path, "w") as f:
                json.dump({"host": "127.0.0.1", "port": 4242, "token": "t"}, f)
            os.chmod(path, 0o600)
            found, why = find_rendezvous(os.path.join(d, "a", "b"))
            self.assertIsNone(why)
            self.assertEqual(found["connect"], "127.0.0.1:4242")
            os.chmod(path, 0o640)
            found, why = find_rendezvous(os.path.join(d, "a", "b"))
            self.assertIsNone(found)
            self.assertIn("owner-only", why)

    def test_cell_files(self):
        self.assertTrue(is_cell_file("/tmp/ipykernel_123/456.py"))
        self.assertTrue(is_cell_file("<ipython-input-3-abc>"))
        self.assertFalse(is_cell_file("/home/me/train.py"))


class TwoWatchesOneLineTest(unittest.TestCase):
    def test_both_stay_live(self):
        with tempfile.TemporaryDirectory() as d:
            models = [torch.nn.Linear(2, 1) for _ in range(2)]
            opts = [torch.optim.SGD(m.parameters(), lr=0.1) for m in models]
            watches = []
            for i, (m, o) in enumerate(zip(models, opts)):
                watches.append(optiscope.watch(m, o, log=os.path.join(d, f"{i}.ndjson")))
            x = torch.randn(8, 2)
            for _ in range(3):
                for m, o in zip(models, opts):
                    o.zero_grad()
                    m(x).pow(2).mean().backward()
                    o.step()
            self.assertFalse(any(w.monitor.ended for w in watches))
            for w in watches:
                w.close()
            for i in range(2):
                with open(os.path.join(d, f"{i}.ndjson")) as f:
                    kinds = [json.loads(line)["type"] for line in f]
                self.assertEqual(kinds.count("step"), 3)
                self.assertEqual(kinds[-1], "end")


if __name__ == "__main__":
    unittest.main()
