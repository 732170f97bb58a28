"""The launcher's doorbell (channel.py): a light step's event is written without ringing it, every other
event rings it once (a run in lock-step ringing it before it sleeps: test_control.py)."""
import json
import os
import unittest

from optiscope.channel import open_channel
from optiscope.report import Reporter


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
