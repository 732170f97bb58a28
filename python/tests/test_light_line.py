"""A light step's line (report.py) is formatted from a template: byte for byte the line encode_event
writes for the same event, whatever the values, run name and rank; the other light steps (unknown or
non-finite loss) keep the general path."""
import os as _os, sys as _sys  # noqa: E401 - the package lives next to this folder
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import math
import random
import unittest
from typing import List, Optional

from optiscope.channel import Channel
from optiscope.encode import encode_event
from optiscope.report import Reporter

VALUES = [0.0, -0.0, 1.0, 0.001, 1e-3, 3e-8, 1e-05, 2.5e16, 1e300, -7.25, 1 / 3, 5e-324, 1.7976931348623157e308]


def _encoded(step: int, loss: Optional[float], lr: float, norm: float, rows: int, run: str, rank: Optional[int]) -> str:
    """The general path's event, built as report.py builds it and encoded by encode_event."""
    event = {"type": "step", "step": step, "epoch": 0, "loss": math.nan if loss is None else loss, "lr": lr, "gradNorm": norm, "layers": []}
    if rows or loss is None:
        event["facts"] = {"batchSize": rows} if loss is not None else {"lossUnknown": True, **({"batchSize": rows} if rows else {})}
    event["run"] = run
    if rank is not None:
        event["rank"] = rank
    return encode_event(event) + "\n"


class LightLineTest(unittest.TestCase):
    def _lines(self, run: str, rank: Optional[int], calls: List[tuple]) -> List[str]:
        out: List[bytes] = []
        report = Reporter(Channel(out.append), run, rank)
        for c in calls:
            report.light_step(*c)
        return [b.decode("utf-8") for b in out]

    def test_the_template_writes_what_the_encoder_writes(self):
        rnd = random.Random(3)
        calls = [(step, loss, lr, norm, rows) for step, (loss, lr, norm, rows) in enumerate(
            [(rnd.choice(VALUES), rnd.choice(VALUES), rnd.choice(VALUES), rnd.choice([0, 1, 64])) for _ in range(300)]
            + [(rnd.uniform(-1e3, 1e3), 10 ** rnd.uniform(-9, 1), rnd.expovariate(1e-2), 32) for _ in range(300)], start=1)]
        for run, rank in (("adam", None), ("sgd-2", 3), ('a "quoted" ünïcode\\run\n', 0)):
            with self.subTest(run=run, rank=rank):
                self.assertEqual(self._lines(run, rank, calls), [_encoded(*c, run, rank) for c in calls])

    def test_unknown_and_non_finite_values_take_the_general_path(self):
        calls = [(1, None, 0.01, 1.0, 0), (2, None, 0.01, 1.0, 8), (3, math.nan, 0.01, 1.0, 8), (4, 0.5, math.inf, 1.0, 8),
                 (5, 0.5, 0.01, -math.inf, 0)]
        self.assertEqual(self._lines("adam", None, calls), [_encoded(*c, "adam", None) for c in calls])

    def test_the_end_event_has_the_last_and_best_loss(self):
        out: List[bytes] = []
        report = Reporter(Channel(out.append), "adam", None)
        for step, loss in enumerate([0.9, 0.4, 0.7, math.nan, 0.4, 0.6], start=1):
            report.light_step(step, loss, 0.01, 1.0, 0)
        self.assertEqual((report.last_loss, report.best), (0.6, (0.4, 2)))

    def test_a_renamed_run_is_written_with_its_new_name(self):
        out: List[bytes] = []
        report = Reporter(Channel(out.append), "adam", None)
        report.light_step(1, 0.5, 0.01, 1.0, 0)
        report.run = "adam-2"
        report.light_step(2, 0.5, 0.01, 1.0, 0)
        self.assertEqual([_encoded(1, 0.5, 0.01, 1.0, 0, "adam", None), _encoded(2, 0.5, 0.01, 1.0, 0, "adam-2", None)],
                         [b.decode() for b in out])


if __name__ == "__main__":
    unittest.main()
