"""The control channel's records (control.py against control.ts's judgedSchema) and their dispatch."""
import json
import os
import threading
import unittest
from unittest import mock

from optiscope import control
from optiscope.lockstep import LockStep


class FakeMonitor:
    def __init__(self, run: str) -> None:
        self.run = run
        self.heard = []

    def on_judged(self, record: control.Judged) -> None:
        self.heard.append(record)

    def on_control_closed(self) -> None:
        pass


def release(listener, r: int, w: int) -> None:
    """After a test that registered `listener` on the control pipe (r, w; w < 0 when closed already)."""
    control.unregister(listener)
    control._closed = False
    control._pending.clear()
    os.close(r)
    if w >= 0:
        os.close(w)


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


class FeedTest(unittest.TestCase):
    def test_a_runs_records_without_a_probe_reach_it_as_the_last_one_probes_in_order(self):
        a, b = FakeMonitor("a"), FakeMonitor("b")
        control.register(a, waits=True)
        control.register(b, waits=True)
        try:
            lines = [record(run="a", step=1, probe=None), record(run="b", step=1, probe=None), record(run="a", step=2, probe=None),
                     record(run="a", step=3), record(run="a", step=4, probe=None), record(run="a", step=5, probe=None)]
            control._feed(("\n".join(lines) + "\n").encode())
            self.assertEqual(a.heard, [control.Judged("a", 2), control.Judged("a", 3, "stall"), control.Judged("a", 5)])
            self.assertEqual(b.heard, [control.Judged("b", 1)])
        finally:
            control.unregister(a)
            control.unregister(b)
            control._pending.clear()


class LockStepTest(unittest.TestCase):
    """A small model's run waits on each step's verdict, JUDGE_LAG steps late, and
    a probe the judge asked for lands at the same step however late its record arrives."""

    def run_steps(self, deliver_late: bool):
        import threading

        from optiscope.lockstep import LockStep

        lock = LockStep()
        lock.active = True
        landed = []
        judged_upto = [0]

        def judge(upto: int) -> None:
            # As the Node side: a record for every step event, the one of step 10 asking for a probe.
            for s in range(judged_upto[0] + 1, upto + 1):
                if s == 10:
                    lock.on_judged(control.Judged("adam", s, "stall"), landed.append)
                else:
                    lock.on_judged(control.Judged("adam", s), landed.append)
            judged_upto[0] = max(judged_upto[0], upto)

        for step in range(1, 41):
            lock.reported(step)
            if deliver_late:  # the judge reads the step only later, from another thread
                threading.Timer(0.002, judge, args=(step,)).start()
            else:
                judge(step)
            lock.await_judged(step, "adam", lambda trigger, at=step: landed.append((at, trigger)))
        self.assertTrue(lock.active)
        return landed

    def test_probe_lands_at_a_fixed_step_whenever_the_verdict_arrives(self):
        from optiscope.lockstep import JUDGE_LAG

        early = self.run_steps(deliver_late=False)
        late = self.run_steps(deliver_late=True)
        # Asked at step 10: armed at the first wait that covers it, lag steps later.
        self.assertEqual(early, [(10 + JUDGE_LAG, "stall")])
        self.assertEqual(late, early)


    def test_the_verdict_on_the_step_just_before_is_not_awaited(self):
        # While step N's forward pass runs, the helper and the judge are still on step N - 1: a run that
        # backpropagates with every verdict up to N - 2 in hand does not wait (JUDGE_LAG = 2).
        from unittest import mock

        from optiscope.lockstep import LockStep

        lock = LockStep()
        lock.active = True
        with mock.patch.object(control, "poll_until", side_effect=AssertionError("waited for a verdict")):
            for step in range(1, 31):
                lock.reported(step)
                if step >= 3:
                    lock.on_judged(control.Judged("adam", step - 2), lambda trigger: None)
                lock.await_judged(step, "adam", lambda trigger: None)
        self.assertTrue(lock.active)
        self.assertEqual(list(lock.unawaited), [29, 30])

    def test_light_steps_past_the_warm_up_wait_a_detailed_step_late(self):
        # cadence.py's light steps: only the detailed steps (one in 10) are awaited, each when the next one is
        # due, so no step waits for the helper and the judge to finish the last one; a probe asked on a light
        # step (15) still lands at a fixed step, the first wait that covers it, however late the verdicts.
        import threading

        from optiscope.lockstep import LockStep

        def run(deliver_late: bool) -> list:
            lock = LockStep()
            lock.active = True
            landed: list = []
            waited: list = []
            for step in range(1, 61):
                if step % 10 == 0:
                    lock.reported(step)
                ask = "stall" if step == 15 else None
                if deliver_late:
                    threading.Timer(0.003, lock.on_judged, args=(control.Judged("adam", step, ask), landed.append)).start()
                else:
                    lock.on_judged(control.Judged("adam", step, ask), landed.append)
                before = len(lock.unawaited)
                lock.await_judged(step, "adam", lambda trigger, at=step: landed.append((at, trigger)), lag=10)
                if len(lock.unawaited) < before:
                    waited.append(step)
            self.assertTrue(lock.active)
            return [landed, waited]

        early = run(deliver_late=False)
        self.assertEqual(early, [[(30, "stall")], [20, 30, 40, 50, 60]])
        self.assertEqual(run(deliver_late=True), early)


class PollTest(unittest.TestCase):
    """A run in lock-step reads the channel itself while it waits (control.poll_until): no reader thread,
    records split across reads reassembled, a probe landing at its fixed step, the end of file seen."""

    def test_a_run_in_lock_step_reads_its_verdicts_itself(self):
        import os
        import threading
        from unittest import mock

        from optiscope.lockstep import JUDGE_LAG, LockStep

        import queue
        import time

        r, w = os.pipe()
        lines: "queue.Queue[bytes]" = queue.Queue()

        def judge() -> None:
            # The judge answers a little later, each record in two writes (two reads, one line).
            while True:
                line = lines.get()
                if not line:
                    return
                for part in (line[:7], line[7:]):
                    time.sleep(0.002)
                    os.write(w, part)

        writer = threading.Thread(target=judge)
        writer.start()
        lock = LockStep()
        lock.active = True
        landed = []
        m = FakeMonitor("adam")
        m.on_judged = lambda rec: lock.on_judged(rec, landed.append)  # type: ignore[method-assign]
        m.on_control_closed = lock.on_control_closed  # type: ignore[method-assign]
        try:
            with mock.patch.dict(os.environ, {"OPTISCOPE_CONTROL_FD": str(r)}):
                control.register(m, waits=True)
                self.assertIsNone(control._reader)
                for step in range(1, 21):
                    lock.reported(step)
                    lines.put((record(run="adam", step=step, probe="stall" if step == 10 else None) + "\n").encode())
                    lock.await_judged(step, "adam", lambda trigger, at=step: landed.append((at, trigger)))
                self.assertEqual(landed, [(10 + JUDGE_LAG, "stall")])
                self.assertIsNone(control._reader, "the verdicts were read by the waiting run")
                self.assertTrue(lock.active)
                lines.put(b"")
                writer.join()
                os.close(w)
                w = -1
                lock.reported(21)
                lock.await_judged(21 + JUDGE_LAG, "adam", landed.append)  # step 21: nobody answers it, the end of file
                self.assertFalse(lock.active)
        finally:
            lines.put(b"")
            writer.join()
            release(m, r, w)


class WakeBeforeWaitTest(unittest.TestCase):
    """await_judged rings only when the verdict is neither dispatched nor waiting in the control pipe."""

    def test_rings_only_before_sleeping(self):
        r, w = os.pipe()
        rings = []
        lock = LockStep()
        lock.active = True

        class Listener:
            run = "adam"

            def on_judged(self, record: control.Judged) -> None:
                lock.on_judged(record, lambda trigger: None)

            def on_control_closed(self) -> None:
                lock.on_control_closed()

        listener = Listener()
        try:
            with mock.patch.dict(os.environ, {"OPTISCOPE_CONTROL_FD": str(r)}):
                control.register(listener, waits=True)
                # The verdict is in the pipe already: read without sleeping, no ring.
                lock.reported(1)
                os.write(w, b'{"type":"judged","v":1,"run":"adam","step":1}\n')
                lock.await_judged(2, "adam", lambda trigger: None, 1, lambda: rings.append(2))
                self.assertEqual(rings, [])
                # Not there yet: ring once, then sleep until it comes.
                lock.reported(2)
                later = threading.Timer(0.05, lambda: os.write(w, b'{"type":"judged","v":1,"run":"adam","step":2}\n'))
                later.start()
                lock.await_judged(3, "adam", lambda trigger: None, 1, lambda: rings.append(3))
                later.join()
                self.assertEqual(rings, [3])
                self.assertTrue(lock.active, "the verdict came: still in lock-step")
        finally:
            release(listener, r, w)


class NoProbesTest(unittest.TestCase):
    """A run that would decline every probe (OPTISCOPE_PROBE_BUDGET=0, a graph without second derivatives)
    does not wait for its verdicts, since no probe can land; it still reads the channel, without blocking."""

    def test_does_not_wait_and_still_reads_the_channel(self):
        import os
        import time
        from unittest import mock

        from optiscope.lockstep import DRAIN_EVERY, LockStep

        r, w = os.pipe()
        lock = LockStep()
        lock.active = True
        m = FakeMonitor("adam")
        m.on_judged = lambda rec: lock.on_judged(rec, self.fail)  # type: ignore[method-assign]
        m.on_control_closed = lock.on_control_closed  # type: ignore[method-assign]
        try:
            # A waiting run would give up after 0.5 s on the first verdict that never comes.
            with mock.patch.dict(os.environ, {"OPTISCOPE_CONTROL_FD": str(r)}), mock.patch("optiscope.lockstep.JUDGE_TIMEOUT", 0.5):
                control.register(m, waits=True)
                # The judge answered the first 10 steps only, step 5 asking for a probe.
                os.write(w, "".join(record(run="adam", step=s, probe="stall" if s == 5 else None) + "\n" for s in range(1, 11)).encode())
                t0 = time.monotonic()
                for step in range(1, 2 * DRAIN_EVERY + 2):
                    lock.reported(step)
                    lock.await_judged(step, "adam", self.fail, probes=False)
                self.assertLess(time.monotonic() - t0, 0.4, "no wait for a verdict")
                self.assertEqual(lock._judged, 10, "the verdicts that came were read")
                self.assertTrue(lock.active)
                self.assertIsNone(control._reader, "read by the run itself, no reader thread")
        finally:
            control.unregister(m)
            control._closed = False
            control._pending.clear()
            os.close(r)
            os.close(w)


if __name__ == "__main__":
    unittest.main()
