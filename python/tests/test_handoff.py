"""The handoff between the training process and its helper (offload.py): each side polls the shared
counters for a bounded, adaptive while before it sleeps, and a late answer still gets every step."""
import mmap
import sys
import threading
import time
import unittest
from collections import deque
from unittest import mock

from optiscope import offload
from optiscope.offload import (_ACKED, _SENT, _U64, ACK_SPIN_MAX, ACK_SPIN_MIN, HELPER_SPIN_BACKOFF, HELPER_SPIN_INTERVALS,
                               HELPER_SPIN_MAX, Helper, Link)

# A safety net: the test publishes a message (or an ack) this late, so a poll without its bound ends
# here instead of never, and the assertions below see how long it lasted.
NET = 1.0


class _FakeLink:
    def __init__(self) -> None:
        self.ctrl = mmap.mmap(-1, mmap.PAGESIZE)


def _helper(intervals_ns: int, ahead: int = 0) -> Helper:
    """A helper that has acked HELPER_SPIN_INTERVALS messages `intervals_ns` apart, the last one when it
    starts to poll (HelperPollTest.poll), plus `ahead` ns."""
    h = Helper.__new__(Helper)
    h.link = _FakeLink()
    h.seen = 0
    h.spin = True
    h.backoff = 0
    h.cores, h.room, h.room_at, h.acked = 2, True, 0, 10
    h.polls = h.polled_ns = 0
    h.intervals = deque([intervals_ns] * HELPER_SPIN_INTERVALS, maxlen=HELPER_SPIN_INTERVALS)
    h.acked_at = ahead
    return h


def _later(seconds: float, ctrl: mmap.mmap, field: int, value: int) -> threading.Timer:
    t = threading.Timer(seconds, lambda: _U64.pack_into(ctrl, field, value))
    t.start()
    return t


class HelperPollTest(unittest.TestCase):
    def setUp(self) -> None:
        runnable = mock.patch.object(offload, "_runnable_tasks", return_value=1)  # a quiet machine
        runnable.start()
        self.addCleanup(runnable.stop)

    def poll(self, h: Helper) -> float:
        net = _later(NET, h.link.ctrl, _SENT, 1)
        try:
            t0 = time.perf_counter()
            h.acked_at += time.perf_counter_ns()
            h._poll()
            return time.perf_counter() - t0
        finally:
            net.cancel()

    def test_polls_until_the_next_message_is_about_due_and_no_longer(self):
        took = self.poll(_helper(1_000_000))  # a message every ms; none comes
        self.assertLess(took, 0.2, "bounded by 5/4 of the recent interval (and HELPER_SPIN_MAX)")
        self.assertGreater(took, 0.0005)

    def test_a_pace_slower_than_the_cap_is_not_polled_for(self):
        # A pause of the script (evaluation, a checkpoint) or light steps between detailed ones: the next
        # acked message is 10 s away, polling for it would burn a core for nothing.
        h = _helper(10_000_000_000)
        took = self.poll(h)
        self.assertLess(took, 0.1)
        self.assertEqual(h.polls, 0)

    def test_the_cap_bounds_a_poll_whatever_the_deadline(self):
        h = _helper(HELPER_SPIN_MAX, ahead=10_000_000_000)  # a deadline far ahead: the cap still ends the poll
        took = self.poll(h)
        self.assertLess(took, 0.2)
        self.assertLessEqual(h.polled_ns, HELPER_SPIN_MAX + 50_000_000)

    def test_a_message_ends_the_poll(self):
        h = _helper(HELPER_SPIN_MAX, ahead=10_000_000_000)
        reads = []

        class Counter:  # the message counter as the helper reads it: published at its 50th read
            @staticmethod
            def unpack_from(ctrl, at):
                reads.append(at)
                return (int(len(reads) >= 50),)

        with mock.patch.object(offload, "_U64", Counter):
            self.poll(h)
            self.assertTrue(h._published())
        self.assertEqual(h.polls, 1)
        self.assertEqual(len(reads), 51, "the poll stopped at the read that saw the message")
        self.assertLess(h.polled_ns, HELPER_SPIN_MAX)

    def test_a_poll_that_did_not_hold_its_core_stops_polling_for_a_while(self):
        h = _helper(1_000_000)
        with mock.patch.object(offload.time, "thread_time_ns", return_value=0):  # as if descheduled throughout
            self.poll(h)
        self.assertEqual(h.backoff, HELPER_SPIN_BACKOFF)
        polls = h.polls
        h.acked_at = 0
        self.poll(h)
        self.assertEqual(h.polls, polls, "no poll during the backoff")

    def test_not_while_more_tasks_are_runnable_than_cores(self):
        # Another runnable task (the training process waiting for a core, say) would wait for the poll.
        h = _helper(1_000_000)
        with mock.patch.object(offload, "_runnable_tasks", return_value=3) as runnable:
            self.assertLess(self.poll(h), 0.1)
            self.assertEqual(h.polls, 0)
            h.acked += 5
            self.poll(h)
            self.assertEqual(runnable.call_count, 1, "looked at again only HELPER_SPIN_LOAD_EVERY acks later")
            h.acked += offload.HELPER_SPIN_LOAD_EVERY
            runnable.return_value = 2
            self.poll(h)
        self.assertEqual(h.polls, 1, "room again: polled")

    def test_not_before_the_pace_is_known(self):
        h = _helper(1_000_000)
        h.intervals.popleft()
        self.assertLess(self.poll(h), 0.1)
        self.assertEqual(h.polls, 0)


class RunQueueTest(unittest.TestCase):
    @unittest.skipUnless(sys.platform.startswith("linux"), "/proc/loadavg")
    def test_counts_the_reader_itself(self):
        self.assertGreaterEqual(offload._runnable_tasks(), 1)


def _link(ack_spin: int) -> Link:
    link = Link.__new__(Link)
    link.ctrl = mmap.mmap(-1, mmap.PAGESIZE)
    link.ack_spin = ack_spin
    link.slept = 0

    def sleep_on_acks(done) -> None:  # the ack pipe: the helper's ack arrives NET later at the latest
        link.slept += 1
        deadline = time.perf_counter() + NET
        while not done() and time.perf_counter() < deadline:
            time.sleep(0.0005)

    link._sleep_on_acks = sleep_on_acks
    return link


class AckPollTest(unittest.TestCase):
    def test_an_ack_within_the_window_is_polled_for(self):
        link = _link(ACK_SPIN_MAX)
        _U64.pack_into(link.ctrl, _ACKED, 1)
        link._poll_acks(1)
        self.assertEqual(link.slept, 0)
        self.assertEqual(link.ack_spin, ACK_SPIN_MIN, "the next window: twice this (instant) wait, at least ACK_SPIN_MIN")

    def test_a_late_ack_is_slept_for_after_a_bounded_poll(self):
        link = _link(ACK_SPIN_MAX)
        _later(0.02, link.ctrl, _ACKED, 1)  # 20 ms: longer than any poll window
        t0 = time.perf_counter()
        link._poll_acks(1)
        self.assertEqual(link.slept, 1, "slept on the ack pipe")
        self.assertLess(time.perf_counter() - t0, NET / 2)
        self.assertEqual(link.ack_spin, ACK_SPIN_MAX // 2, "a helper that answers late is polled for less")
        for _ in range(10):
            link._poll_acks(1)  # acked already
        self.assertGreaterEqual(link.ack_spin, ACK_SPIN_MIN)


if __name__ == "__main__":
    unittest.main()
