"""The helper process (optiscope/offload.py): its events equal the inline monitor's, it is really used,
and it never outlives the training process."""
import os
import signal
import subprocess
import sys
import textwrap
import time
import unittest

from .script_runs import PACKAGE, ScriptCase, events, run


SCRIPT = textwrap.dedent("""
    import os, sys, time
    import torch
    from torch import nn
    if os.environ.get("SLOW_HELPER"):
        # The helper (a fork: it inherits this patch) reads each step 50 ms late, so it is still busy
        # with the last step when the training process dies.
        from optiscope import offload
        read = offload.Helper._read_step
        def slow_read(self, *args):
            time.sleep(0.05)
            return read(self, *args)
        offload.Helper._read_step = slow_read
    if os.environ.get("LATE_ACK"):
        # The helper acks every third step 5 ms late (its copy of the step waits first), past the training
        # process's poll for the ack: that step's wait ends asleep on the ack pipe, the others' in the poll.
        from optiscope import offload
        copy = offload.Helper.copy_step
        def late_copy(self):
            if self.acked % 3 == 0:
                time.sleep(0.005)
            return copy(self)
        offload.Helper.copy_step = late_copy
    if os.environ.get("IN_PLACE"):
        # The helper reads the gradients, parameters and state in place, as for a model of 100,000
        # parameters or more (this one is small enough to have them copied: offload.COPY_GRADS_BELOW).
        from optiscope import offload
        offload.COPY_GRADS_BELOW = 0
    if os.environ.get("DETAIL_WARMUP"):
        # Light steps (cadence.py) from this step on, instead of after the first 500, with one detailed step
        # in 10 after it whatever the counted work: these tests are about light steps, the spacing rule has
        # its own (test_detail_spacing.py).
        from optiscope import cadence
        cadence.DETAIL_WARMUP = int(os.environ["DETAIL_WARMUP"])
        cadence.DETAIL_EVERY_MAX = cadence.DETAIL_EVERY
    torch.manual_seed(3)
    torch.set_num_threads(int(os.environ.get("THREADS", "1")))
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))
    Adam = torch.optim.Adam
    if os.environ.get("STEP_HOOKS") and not hasattr(Adam, "register_step_pre_hook"):
        class Adam(torch.optim.Adam):
            # torch 1.x's Adam with torch 2.x's step hooks, called as 2.x calls them.
            def register_step_pre_hook(self, hook):
                self.__dict__.setdefault("_pre_hooks", []).append(hook)
            def register_step_post_hook(self, hook):
                self.__dict__.setdefault("_post_hooks", []).append(hook)
            def step(self, *args, **kwargs):
                for hook in self.__dict__.get("_pre_hooks", []):
                    hook(self, args, kwargs)
                out = super().step(*args, **kwargs)
                for hook in self.__dict__.get("_post_hooks", []):
                    hook(self, args, kwargs)
                return out
    opt = Adam(model.parameters(), lr=3e-3)
    x, y = torch.randn(256, 8), torch.randint(0, 3, (256,))
    for step in range(60):
        idx = torch.arange(step * 32, step * 32 + 32) % 256
        if os.environ.get("KEEP_GRADS"):
            # The same gradient tensors (read in place by the helper, the short path) until step 40.
            opt.zero_grad(set_to_none=step == 40)
        else:
            opt.zero_grad(set_to_none=step % 2 == 0)  # fresh gradient tensors every other step
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        if os.environ.get("STEP_SLEEP"):
            # Slow steps of uneven length: the helper sleeps between them, past the message at times.
            time.sleep(float(os.environ["STEP_SLEEP"]) * (4 if step % 3 == 0 else 1))
        if step == 5:
            from optiscope import hooks
            link = hooks.monitors[0].link
            print("offloaded" if link is not None else "inline", file=sys.stderr)
            if link is not None and os.environ.get("PID_FILE"):
                with open(os.environ["PID_FILE"], "w") as f:
                    f.write(str(link.pid))
        if step == int(os.environ.get("NAN_AT", "-1")):
            x[:] = float("nan")  # every later loss and gradient is NaN
        if step == int(os.environ.get("KILL_AT", "-1")):
            os.kill(os.getpid(), signal.SIGKILL)
        if step == 20 and os.environ.get("KILL_AT_20"):
            os.kill(os.getpid(), signal.SIGKILL)
        if step == 20 and os.environ.get("KILL_HELPER_AT_20"):
            from optiscope import hooks
            os.kill(hooks.monitors[0].link.pid, signal.SIGKILL)
            os.waitpid(hooks.monitors[0].link.pid, 0)
    from optiscope import hooks
    print("trained to the end; short-path steps:", hooks.monitors[0].fast_steps, file=sys.stderr)
""").replace("import os, sys", "import os, signal, sys")




def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (killed, not yet reaped by init) is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@unittest.skipUnless(sys.platform.startswith("linux"), "the helper process is used on Linux")
class OffloadTest(ScriptCase):
    SCRIPT = SCRIPT

    def test_same_numbers_and_verdicts_as_inline(self):
        self.same_as_inline()

    def test_same_numbers_and_verdicts_as_inline_with_slow_steps(self):
        # Steps of 3 and 12 ms: the helper sleeps between them, and a message that comes while it sleeps
        # on the pipe rings its doorbell.
        self.same_as_inline(STEP_SLEEP="0.003")

    def test_every_step_in_order_from_a_helper_that_acks_late(self):
        # The handoff's polls (offload.py) give up on a late ack and sleep: nothing is lost or reordered.
        self.same_as_inline(LATE_ACK="1")

    def test_same_numbers_and_verdicts_as_inline_on_the_short_path(self):
        # Gradients kept between steps (torch 1.x's zero_grad) and read in place: the common step takes
        # FastStep, and after fresh gradient tensors at step 40 the general path, both with the same
        # events as inline.
        ea, _ = self.same_as_inline(KEEP_GRADS="1", IN_PLACE="1")
        self.short_path_as_planned(ea)

    def test_the_short_path_through_torch_2_step_hooks(self):
        # torch >= 2.0 calls the monitor from the optimizer's step hooks instead of a wrapper.
        ea, _ = self.same_as_inline(KEEP_GRADS="1", STEP_HOOKS="1", IN_PLACE="1")
        self.short_path_as_planned(ea)

    def test_a_small_models_steps_are_copied_on_the_short_path(self):
        # A small model's gradients are copied whatever zero_grad() does (fresh tensors every other step
        # here), and the helper reads private copies of the step: every step from 21 on but the
        # sampled ones (32, 48) takes FastStep, with the same events as inline.
        ea, _ = self.same_as_inline()
        sampled = [s["step"] for s in ea if s["type"] == "step" and any("saturatedFraction" in layer for layer in s["layers"])]
        self.assertEqual(sampled, list(range(2, 21)) + [32, 48])
        self.assertEqual(self.short_path_steps(), 38, self.last_stderr)

    def short_path_as_planned(self, ea: list) -> None:
        # Steps 2-40 keep the gradients the helper shares. The activity is sampled up to step 20
        # (monitor.py ACTIVITY_WARMUP; from step 2, as inline: the hooks come with the monitor, which the
        # first step() creates), then on every 16th: step 32's sample is planned by step 31, which takes
        # the short path. Sampled steps take the general path: steps 21-40 but 32 take the short one,
        # however late the helper.
        sampled = [s["step"] for s in ea if s["type"] == "step" and any("saturatedFraction" in layer for layer in s["layers"])]
        self.assertEqual(sampled, list(range(2, 21)) + [32, 48])
        self.assertEqual(self.short_path_steps(), 19, self.last_stderr)

    def short_path_steps(self) -> int:
        """How many steps of the last offloaded run took FastStep (the script prints it at the end)."""
        return int(self.last_stderr.rsplit("short-path steps:", 1)[1].split()[0])

    def test_scheduled_curvature_probes_at_the_same_steps_as_inline(self):
        # The training process arms scheduled probes itself: the helper's detectors answer a step late.
        ea, _ = self.same_as_inline(OPTISCOPE_HESSIAN_EVERY="10")
        self.assertEqual([e["step"] for e in ea if e["type"] == "hessian"], [10, 20, 30, 40, 50])

    def test_every_step_detailed_through_the_warm_up_by_default(self):
        log = os.path.join(self.dir.name, "d.ndjson")
        r = run(self.script, log, OPTISCOPE_EVERY="")
        self.assertEqual(r.returncode, 0, r.stderr)
        sa = [e for e in events(log) if e["type"] == "step"]
        self.assertEqual([s["step"] for s in sa if s["layers"]], list(range(1, 61)))
        # Activity sampled as with `every` 1 (the first 20, then one in 16), not on every warm-up step.
        sampled = [s["step"] for s in sa if any("saturatedFraction" in layer for layer in s["layers"])]
        self.assertEqual(sampled, list(range(2, 21)) + [32, 48])

    def test_light_steps_by_default_with_the_same_numbers_as_every_step(self):
        # No explicit `every` (the default): every step is reported, with per-layer statistics on the
        # warm-up's steps (20 here, 500 by default) and then one in 10 (cadence.py); the others carry the
        # loss, gradient norm and lr only, the same numbers as a run monitored in full at every step,
        # offloaded as inline.
        ea, _ = self.same_as_inline(OPTISCOPE_EVERY="", DETAIL_WARMUP="20")
        sa = [e for e in ea if e["type"] == "step"]
        self.assertEqual([s["step"] for s in sa if s["layers"]], list(range(1, 21)) + [30, 40, 50, 60])
        # Past the warm-up each detailed step samples the activity (already one step in 10).
        sampled = [s["step"] for s in sa if any("saturatedFraction" in layer for layer in s["layers"])]
        self.assertEqual(sampled, list(range(2, 21)) + [30, 40, 50, 60])
        full = os.path.join(self.dir.name, "full.ndjson")
        self.assertEqual(run(self.script, full).returncode, 0)
        sf = [e for e in events(full) if e["type"] == "step"]
        self.assertEqual(len(sf), len(sa))
        for light, every in zip(sa, sf):
            self.assertEqual(light["loss"], every["loss"])
            # The same quantity: a light step's one torch norm and a detailed step's float64 sums of squares
            # (flat_stats.py) differ by float32 rounding only.
            self.assertAlmostEqual(light["gradNorm"], every["gradNorm"], delta=1e-6 * abs(every["gradNorm"]))
            self.assertEqual(light["lr"], every["lr"])
            for lx, ly in zip(light["layers"], every["layers"]):  # activity: sampled on other steps
                for key in ("name", "gradNorm", "weightNorm", "updateNorm", "effectiveLr"):
                    self.assertEqual(lx[key], ly[key], (light["step"], key))

    def test_a_non_finite_light_step_is_reported_with_its_layers(self):
        # Step 35 (a light step by the schedule) backpropagates a NaN loss: it and every step after it carry
        # the per-layer statistics, which say where the NaN is, offloaded as inline.
        ea, _ = self.same_as_inline(OPTISCOPE_EVERY="", DETAIL_WARMUP="20", NAN_AT="33")
        detailed = [s["step"] for s in ea if s["type"] == "step" and s["layers"]]
        self.assertEqual(detailed, list(range(1, 21)) + [30] + list(range(35, 61)))
        step35 = next(s for s in ea if s["type"] == "step" and s["step"] == 35)
        self.assertIn("nonFiniteParameter", step35.get("facts", {}), step35)

    def test_light_steps_of_a_killed_training_process_are_all_reported(self):
        # Light steps wait in the ring without waking the helper: the end of the pipe still makes it
        # write every one the training process published before the kill.
        log = os.path.join(self.dir.name, "k.ndjson")
        r = run(self.script, log, OPTISCOPE_EVERY="", DETAIL_WARMUP="20", KILL_AT="46", STEP_SLEEP="0.001")
        self.assertEqual(r.returncode, -signal.SIGKILL, r.stderr)
        self.assertIn("offloaded", r.stderr)
        steps = [e["step"] for e in events(log) if e["type"] == "step"]
        self.assertEqual(steps, list(range(1, 48)))

    def same_as_inline(self, **env: str) -> tuple:
        a, b = os.path.join(self.dir.name, "a.ndjson"), os.path.join(self.dir.name, "b.ndjson")
        ra = run(self.script, a, **env)
        rb = run(self.script, b, OPTISCOPE_OFFLOAD="0", **env)
        self.last_stderr = ra.stderr
        self.assertEqual(ra.returncode, 0, ra.stderr)
        self.assertEqual(rb.returncode, 0, rb.stderr)
        self.assertIn("offloaded", ra.stderr)
        self.assertIn("inline", rb.stderr)
        ea, eb = events(a), events(b)
        sa = [e for e in ea if e["type"] == "step"]
        sb = [e for e in eb if e["type"] == "step"]
        self.assertEqual([s["step"] for s in sa], list(range(1, 61)))
        self.assertEqual([s["step"] for s in sb], list(range(1, 61)))
        for x, y in zip(sa, sb):
            self.assertEqual(x["loss"], y["loss"])
            self.assertEqual(x["gradNorm"], y["gradNorm"])
            for lx, ly in zip(x["layers"], y["layers"]):
                for key in ("name", "gradNorm", "weightNorm", "updateNorm", "effectiveLr"):
                    self.assertEqual(lx[key], ly[key], (x["step"], key))
                # Activity is measured on every step inline and on sampled steps by the helper.
                for key in ("deadFraction", "saturatedFraction"):
                    if key in lx:
                        self.assertEqual(lx[key], ly[key], (x["step"], key))
        self.assertTrue(any("saturatedFraction" in layer for s in sa for layer in s["layers"]))
        warn = lambda es: [(w["kind"], w.get("layer"), w["step"]) for w in es if w["type"] == "warning"]  # noqa: E731
        self.assertEqual(warn(ea), warn(eb))
        self.assertEqual(ea[-1]["type"], "end")
        self.assertEqual({k: v for k, v in ea[-1].items() if k != "wallMs"}, {k: v for k, v in eb[-1].items() if k != "wallMs"})
        self.assertEqual([e for e in ea if e["type"] == "hessian"], [e for e in eb if e["type"] == "hessian"])
        return ea, eb

    def test_the_helper_does_not_outlive_a_killed_training_process(self):
        log = os.path.join(self.dir.name, "k.ndjson")
        pid_file = os.path.join(self.dir.name, "pid")
        r = run(self.script, log, KILL_AT_20="1", PID_FILE=pid_file)
        self.assertEqual(r.returncode, -signal.SIGKILL, r.stderr)
        with open(pid_file, encoding="utf-8") as f:
            helper = int(f.read())
        deadline = time.monotonic() + 10
        while alive(helper) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(alive(helper), "the helper process is still running")
        steps = [e["step"] for e in events(log) if e["type"] == "step"]
        # Every step the training process finished before the kill was reported (the 21st was cut short).
        self.assertEqual(steps, list(range(1, len(steps) + 1)))
        self.assertGreaterEqual(len(steps), 20)

    def test_no_helper_when_the_training_threads_take_every_core(self):
        # A helper on a core the training process computes on stalls its matrix products (offload.py).
        cores = len(os.sched_getaffinity(0))
        log = os.path.join(self.dir.name, "t.ndjson")
        r = run(self.script, log, THREADS=str(cores))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("inline", r.stderr)
        self.assertNotIn("offloaded", r.stderr)
        if cores > 1:  # and with one thread to spare, the helper is used
            r = run(self.script, log, THREADS=str(cores - 1))
            self.assertIn("offloaded", r.stderr)
        # OpenBLAS's own pool counts too (Debian's torch: sized to the machine, not to torch's threads).
        code = ("from optiscope import offload; import torch; torch.set_num_threads(1); "
                "print(offload.compute_threads(), 'openblas' in open('/proc/self/maps').read())")
        def threads(**env: str):
            e = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
            e.update(PYTHONPATH=PACKAGE, **env)
            out = subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            n, blas = out.stdout.split()
            return int(n), blas == "True"
        self.assertEqual(threads(OPENBLAS_NUM_THREADS="1"), (1, threads()[1]))
        n, openblas = threads()
        if openblas and cores > 1:
            self.assertEqual(n, cores, "OpenBLAS's default pool takes every core")

    def test_a_helper_behind_a_killed_training_process_reports_every_step_it_was_sent(self):
        log = os.path.join(self.dir.name, "s.ndjson")
        r = run(self.script, log, KILL_AT_20="1", SLOW_HELPER="1")
        self.assertEqual(r.returncode, -signal.SIGKILL, r.stderr)
        evs = events(log)
        # Acking a step to a process that is gone is no failure of the monitoring: no error, no end
        # (the launcher closes the run as failed), and all 21 steps the script finished are there.
        self.assertEqual([e for e in evs if e["type"] in ("error", "end")], [])
        self.assertEqual([e["step"] for e in evs if e["type"] == "step"], list(range(1, 22)))

    def test_a_dead_helper_stops_the_monitoring_not_the_training(self):
        log = os.path.join(self.dir.name, "h.ndjson")
        r = run(self.script, log, KILL_HELPER_AT_20="1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("trained to the end", r.stderr)
        self.assertIn("monitoring of", r.stderr)
        evs = events(log)
        steps = [e["step"] for e in evs if e["type"] == "step"]
        # The steps the helper wrote before it was killed are kept, in order; the run says it stopped.
        self.assertEqual(steps, list(range(1, len(steps) + 1)))
        self.assertGreaterEqual(len(steps), 15)
        self.assertLessEqual(len(steps), 21)
        errors = [e for e in evs if e["type"] == "error"]
        self.assertEqual(len(errors), 1, evs[-3:])
        self.assertIn("helper process exited", errors[0]["message"])
        self.assertEqual(evs[-1]["type"], "end")
        self.assertEqual(evs[-1]["reason"], "stopped")
        self.assertGreaterEqual(evs[-1]["steps"], len(steps))


CALLS_SCRIPT = textwrap.dedent("""
    import os, sys
    import torch
    from torch import nn
    torch.manual_seed(3)
    torch.set_num_threads(1)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, y = torch.randn(256, 8), torch.randint(0, 3, (256,))
    PACKAGE = os.sep + "optiscope" + os.sep
    # Waiting for the helper's ack depends on the machine's load, not on what a step does.
    WAITING = {"wait", "_poll_acks", "_sleep_on_acks", "<lambda>"}
    calls = [0]
    def count(frame, event, arg):
        if event == "call" and PACKAGE in frame.f_code.co_filename and frame.f_code.co_name not in WAITING:
            calls[0] += 1
    from optiscope import hooks
    for step in range(50):
        idx = torch.arange(step * 32, step * 32 + 32) % 256
        opt.zero_grad(set_to_none=False)
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        if step == 34:
            fast = hooks.monitors[0].fast_steps
            sys.setprofile(count)
        opt.step()
        if step == 44:
            sys.setprofile(None)
            fast = hooks.monitors[0].fast_steps - fast
    print("short-path steps:", fast, "calls:", calls[0], file=sys.stderr)
""")


@unittest.skipUnless(sys.platform.startswith("linux"), "the helper process is used on Linux")
class ShortPathCallsTest(ScriptCase):
    SCRIPT = CALLS_SCRIPT

    def test_a_short_path_step_makes_few_python_calls(self):
        # Each Python call costs the training process ~0.1-0.5 µs at every step; the short path (FastStep
        # and the step wrapper around it) inlines its helpers. 37 calls a step before, 17 now (the
        # optimizer step, backward and zero_grad patches, facts, the activity hooks included).
        log = os.path.join(self.dir.name, "c.ndjson")
        r = run(self.script, log)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stderr.rsplit("short-path steps:", 1)[1].split()
        fast, calls = int(out[0]), int(out[2])
        self.assertEqual(fast, 11, "every counted step took the short path")
        self.assertLessEqual(calls / 10, 20, r.stderr[-500:])


if __name__ == "__main__":
    unittest.main()
