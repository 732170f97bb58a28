"""The Python wing's structure: the messages to the helper process are named records (records.py) that
survive the pipe and the ring slots, and the package has no import cycle."""
import ast
import dataclasses
import math
import os
import pickle
import unittest

import torch

from optiscope import records
from optiscope.records import (ActivitySample, Finish, GradsReady, GroupsChanged, HandBack, LightStep, ProbeResult,
                               ProbeUnavailable, Snapshot, StateMove, StepTaken, Unsupported)

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "optiscope")


def _imports() -> dict:
    """module → the package modules it imports (at module level or inside a function)."""
    graph = {}
    for name in os.listdir(PACKAGE):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(PACKAGE, name), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                deps.update([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("optiscope"):
                deps.update([node.module.split(".")[1]] if "." in node.module else [a.name for a in node.names])
        graph[name[:-3]] = deps
    return graph


class RecordsTest(unittest.TestCase):
    def test_every_record_has_a_word_for_a_kind_and_survives_the_pipe(self):
        made = [
            GradsReady(), Snapshot(), ProbeUnavailable(),
            StepTaken(3, 0.5, [0.1, 1], True, False, 32, False, (1,), "fc1",
                      [ActivitySample("fc1", "dead", 3.0, 16)], [StateMove(0, "exp_avg", 128, torch.float32, [4, 2])]),
            GroupsChanged([{"lr": 0.1, "betas": (0.9, 0.999)}]),
            LightStep(5, 0.25, 1.5, 0.01, 32),
            ProbeResult(4, [-1.0, 2.0], 20, "scheduled", 0.01, {"lambdaEdge": 200.0}),
            Unsupported({"type": "fact", "step": 3, "fact": {"kind": "unsupported", "feature": "curvature", "reason": "x",
                                                             "fallback": "none"}}),
            Finish("completed", {"type": "error", "message": "x"}),
            HandBack(),
        ]
        kinds = [r.kind for r in made]
        self.assertEqual(len(set(kinds)), len(made), "one kind per record")
        self.assertEqual({type(r) for r in made}, set(records.Record.__args__))  # type: ignore[attr-defined]
        for r in made:
            self.assertRegex(r.kind, r"^[a-z]{4,}(-[a-z]+)*$", "a kind is a word, not a letter")
            back = pickle.loads(pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL))
            self.assertEqual(back, r)
            self.assertEqual(back.kind, r.kind)
        step = made[3]
        self.assertIsInstance(step, StepTaken)
        self.assertEqual(step.activity[0].units, 16)
        self.assertEqual(step.moved[0].key, "exp_avg")
        with self.assertRaises(dataclasses.FrozenInstanceError):
            step.step = 4  # type: ignore[misc]

    def test_the_ring_slot_of_a_step_reads_back_as_the_same_record(self):
        # offload.Link.publish_step packs a common StepTaken into a ring slot; the helper unpacks it.
        from optiscope import offload

        buf = bytearray(offload._SLOT)
        lrs = [0.01, 0.002]
        # Link.publish_step's packing, field for field.
        offload._STEP.pack_into(buf, 0, offload.K_STEP, True, False, True, True, len(lrs), 7, 64, 0.25,
                                *(lrs + [0.0] * (offload.MAX_SLOT_LRS - len(lrs))))
        self.assertEqual(offload.unpack_step(buf, 0), StepTaken(7, 0.25, lrs, True, True, 64, False))
        offload._STEP.pack_into(buf, 0, offload.K_STEP, False, True, False, True, 1, 8, 0, math.nan, 0.1, 0.0, 0.0)
        self.assertEqual(offload.unpack_step(buf, 0), StepTaken(8, None, [0.1], False, True, 0, True))
        self.assertLessEqual(offload._STEP.size, offload._SLOT)

    def test_the_ring_slot_of_a_light_step_reads_back_as_the_same_record(self):
        from optiscope import offload

        buf = bytearray(offload._SLOT)
        # Link.light's packing, field for field.
        offload._LIGHT.pack_into(buf, 0, offload.K_LIGHT, True, 31, 64, 2.25, 0.5, 1e-3)
        self.assertEqual(offload.unpack_light(buf, 0), LightStep(31, 2.25, 0.5, 1e-3, 64))
        offload._LIGHT.pack_into(buf, 0, offload.K_LIGHT, False, 32, 0, math.nan, math.inf, 0.1)
        self.assertEqual(offload.unpack_light(buf, 0), LightStep(32, None, math.inf, 0.1, 0))
        self.assertLessEqual(offload._LIGHT.size, offload._SLOT)


class ImportCycleTest(unittest.TestCase):
    def test_the_package_has_no_import_cycle(self):
        graph = _imports()
        self.assertNotIn("monitor", graph["offload"], "offload.py must not import monitor.py (monitor.py drives it)")

        def cycle_from(start: str) -> list:
            stack = [(start, [start])]
            while stack:
                node, path = stack.pop()
                for dep in graph.get(node, ()):
                    if dep == start:
                        return path + [dep]
                    if dep not in path and dep in graph:
                        stack.append((dep, path + [dep]))
            return []

        for module in sorted(graph):
            self.assertEqual(cycle_from(module), [], f"import cycle through {module}")


if __name__ == "__main__":
    unittest.main()
