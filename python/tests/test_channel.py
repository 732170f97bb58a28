"""The launcher's doorbell (channel.py): a light step's event is written without ringing it, and so is a
detailed step's of a run that never waits for its verdicts; every other event rings it once (a run in
lock-step ringing it before it sleeps: test_control.py)."""
import json
import os
import unittest
from types import SimpleNamespace
from unittest import mock

from optiscope import monitor
from optiscope.channel import QUIET_RING_BYTES, open_channel
from optiscope.report import Reporter
from optiscope.stats import StepStats


def _read_all(fd: int) -> bytes:
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return b""


class DoorbellTest(unittest.TestCase):
    def setUp(self) -> None:
        self.events_r, self.events_w = os.pipe()
        self.wake_r, self.wake_w = os.pipe()
        self.channel = open_channel(env={"OPTISCOPE_EVENT_FD": str(self.events_w), "OPTISCOPE_WAKE_FD": str(self.wake_w)})

    def tearDown(self) -> None:
        self.channel.close()  # closes both write ends
        os.close(self.events_r)
        os.close(self.wake_r)

    def test_light_steps_are_quiet_and_other_events_ring(self):
        report = Reporter(self.channel, "adam", None)
        for step in range(1, 6):
            report.light_step(step, 0.5, 0.01, 1.0, 32)
        self.assertEqual(_read_all(self.wake_r), b"", "no byte for light steps")
        lines = _read_all(self.events_r).decode().splitlines()
        self.assertEqual([json.loads(line)["step"] for line in lines], [1, 2, 3, 4, 5], "written all the same, in order")
        report.emit({"type": "fact", "step": 5, "fact": {"kind": "step-call"}})
        self.assertEqual(_read_all(self.wake_r), b"\0", "one byte for an event that is not a light step")
        self.assertEqual(json.loads(_read_all(self.events_r))["type"], "fact")

    def test_quiet_lines_ring_once_a_quarter_pipe_is_unread(self):
        # The reader reads on its own every 50 ms; an every-step run writes faster than that, and a full
        # pipe would block the writer: quiet lines ring once QUIET_RING_BYTES of them wait.
        report = Reporter(self.channel, "adam", None)
        unrung = written = rings = 0
        for step in range(1, 400):
            report.light_step(step, 0.5, 0.01, 1.0, 32)
            line = len(_read_all(self.events_r))
            written += line
            unrung += line
            if _read_all(self.wake_r):
                self.assertGreaterEqual(unrung, QUIET_RING_BYTES, "not before")
                rings, unrung = rings + 1, 0
            self.assertLess(unrung, QUIET_RING_BYTES)
        self.assertGreater(rings, 1)

    def test_a_detailed_step_is_quiet_when_asked(self):
        report = Reporter(self.channel, "adam", None)
        s = StepStats(0.5, 0.01, 1.0, [], [], [], [])
        report.step(1, s, True, None, {}, quiet=True)
        self.assertEqual(_read_all(self.wake_r), b"")
        report.step(2, s, True, None, {})
        self.assertEqual(_read_all(self.wake_r), b"\0")
        self.assertEqual([json.loads(line)["step"] for line in _read_all(self.events_r).decode().splitlines()], [1, 2])

    def test_only_a_run_that_waits_for_its_verdicts_rings_for_its_steps(self):
        def waits(active: bool, possible: bool, budget: float) -> bool:
            m = SimpleNamespace(lockstep=SimpleNamespace(active=active), probes=SimpleNamespace(possible=possible))
            with mock.patch.object(monitor, "PROBE_BUDGET", budget):
                monitor.Monitor.derive_waits(m)
            return m.waits

        self.assertTrue(waits(True, True, 0.03))
        self.assertFalse(waits(True, True, 0.0), "OPTISCOPE_PROBE_BUDGET=0: it declines every probe")
        self.assertFalse(waits(True, False, 0.03), "no probe possible (no second derivatives)")
        self.assertFalse(waits(False, True, 0.03), "not in lock-step")

    def test_a_full_doorbell_never_blocks(self):
        for _ in range(100_000):  # more bytes than a pipe holds
            self.channel.wake()
        self.assertTrue(_read_all(self.wake_r))

    def test_without_a_doorbell_events_still_go_out(self):
        r, w = os.pipe()
        channel = open_channel(env={"OPTISCOPE_EVENT_FD": str(w)})
        Reporter(channel, "adam", None).light_step(1, 0.5, 0.01, 1.0, 0)
        channel.wake()  # nothing to ring
        self.assertEqual(json.loads(_read_all(r))["step"], 1)
        channel.close()
        os.close(r)


if __name__ == "__main__":
    unittest.main()
