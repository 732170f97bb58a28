"""The control channel's records (control.py against control.ts's judgedSchema) and their dispatch."""
import json
import unittest

from optiscope import control


class FakeMonitor:
    def __init__(self, run: str) -> None:
        self.run = run
        self.heard = []

    def on_judged(self, record: control.Judged) -> None:
        self.heard.append(record)

    def on_control_closed(self) -> None:
        pass


def record(**over):
    r = {"type": "judged", "v": 1, "run": "sgd", "step": 12, "probe": "stall"}
    r.update(over)
    return json.dumps({k: v for k, v in r.items() if v is not None})


class ParseTest(unittest.TestCase):
    def test_valid_records(self):
        self.assertEqual(control.parse(record()), control.Judged("sgd", 12, "stall"))
        self.assertEqual(control.parse(record(probe=None)), control.Judged("sgd", 12, None))

    def test_rejects_what_the_schema_rejects(self):
        for bad in (record(type="probe"), record(v=2), record(run=""), record(step=-1), record(step=True), record(step=1.5),
                    record(probe="scheduled"), record(extra=1), record(run=None), "not json", "[1]"):
            self.assertIsNone(control.parse(bad), bad)


class DispatchTest(unittest.TestCase):
    def test_goes_to_the_run_and_a_late_record_is_dropped(self):
        m = FakeMonitor("adam")
        control.register(m)
        self.assertTrue(control.dispatch(control.Judged("adam", 3, "small-gradient")))
        self.assertEqual(m.heard, [control.Judged("adam", 3, "small-gradient")])
        control.unregister(m)
        self.assertFalse(control.dispatch(control.Judged("adam", 4)))
        self.assertEqual(len(m.heard), 1)


if __name__ == "__main__":
    unittest.main()
