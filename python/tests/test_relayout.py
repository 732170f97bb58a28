"""Layers changed mid-run (optiscope/relayout.py): announced by a `layout` fact at the step they change,
measured from the next step on (inline and through the helper process alike), and nothing announced
when nothing changed."""
import os
import sys
import textwrap
import unittest

from .script_runs import ScriptCase, events, run


SCRIPT = textwrap.dedent("""
    import os, sys
    import torch
    from torch import nn
    if os.environ.get("DETAIL_WARMUP"):
        from optiscope import cadence  # light steps (cadence.py) from this step on, detailed one in 10 after it
        cadence.DETAIL_WARMUP = int(os.environ["DETAIL_WARMUP"])
        cadence.DETAIL_EVERY_MAX = cadence.DETAIL_EVERY  # whatever the counted work (test_detail_spacing.py)
    torch.manual_seed(5)
    torch.set_num_threads(1)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 3))
    case = os.environ["CASE"]
    if case == "unfreeze":
        for p in list(model[0].parameters()) + list(model[2].parameters()):
            p.requires_grad = False
        opt = torch.optim.Adam(model[4].parameters(), lr=3e-3)
    elif case == "flip":
        for p in model[0].parameters():
            p.requires_grad = False
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
    if os.environ.get("WATCH"):
        import optiscope
        optiscope.watch(model, opt, every=1, log=os.environ["WATCH"])
    x, y = torch.randn(256, 8), torch.randint(0, 3, (256,))
    for step in range(60):
        if step == 20 and case == "unfreeze":
            params = list(model[0].parameters()) + list(model[2].parameters())
            for p in params:
                p.requires_grad = True
            opt.add_param_group({"params": params, "lr": 1e-3})
        if step == 20 and case == "flip":
            for p in model[0].parameters():
                p.requires_grad = True
        if step == 20 and case in ("replace", "second"):
            model[4] = nn.Linear(16, 3)  # given to no optimizer, or to a second one
            second = torch.optim.SGD(model[4].parameters(), lr=0.05) if case == "second" else None
        idx = torch.arange(step * 32, step * 32 + 32) % 256
        opt.zero_grad(set_to_none=False)  # the same gradient tensors: the helper's short path
        loss = nn.CrossEntropyLoss()(model(x[idx]), y[idx])  # a loss module created every step: no news
        loss.backward()
        opt.step()
        if case == "second" and step >= 20:
            second.step()
            second.zero_grad()
        if step in (18, 40):
            from optiscope import hooks
            m = hooks.monitors[0]
            print(f"at {step}:", "offloaded" if m.link is not None else "inline", m.fast_steps, file=sys.stderr)
""")




def numbers(evs: list) -> list:
    """Each step's per-layer numbers (activity is sampled differently by the helper: left out)."""
    return [(e["step"], [(l["name"], l["gradNorm"], l["weightNorm"], l["updateNorm"], l["effectiveLr"]) for l in e["layers"]])
            for e in evs if e["type"] == "step"]


class RelayoutTest(ScriptCase):
    SCRIPT = SCRIPT

    def run_case(self, case: str, **env: str) -> tuple:
        log = os.path.join(self.dir.name, f"{case}-{len(env)}-{sorted(env.items())!r}.ndjson".replace("/", "_"))
        r = run(self.script, log, timeout=180, CASE=case, **env)
        self.assertEqual(r.returncode, 0, r.stderr)
        return events(log), r.stderr

    def layout_facts(self, evs: list) -> list:
        return [e for e in evs if e["type"] == "fact" and e["fact"]["kind"] == "layout"]

    def test_a_param_group_added_mid_run_is_measured_from_the_next_step_inline_and_offloaded(self):
        inline, _ = self.run_case("unfreeze", OPTISCOPE_OFFLOAD="0")
        offloaded, err = self.run_case("unfreeze")
        for evs in (inline, offloaded):
            facts = self.layout_facts(evs)
            self.assertEqual(len(facts), 1, facts)
            self.assertEqual(facts[0]["step"], 20)
            self.assertEqual(facts[0]["fact"]["reason"], "param-groups")
            self.assertEqual([l["name"] for l in facts[0]["fact"]["layers"]], ["model.0", "model.2", "model.4"])
            self.assertEqual([l["module"]["type"] for l in facts[0]["fact"]["layers"]], ["Linear"] * 3)
            steps = {e["step"]: [l["name"] for l in e["layers"]] for e in evs if e["type"] == "step"}
            self.assertEqual(sorted(steps), list(range(1, 61)), "every step monitored")
            self.assertEqual(steps[20], ["model.4"])
            self.assertEqual(steps[21], ["model.0", "model.2", "model.4"])
            self.assertEqual([e["reason"] for e in evs if e["type"] == "end"], ["completed"])
        self.assertEqual(numbers(offloaded), numbers(inline), "the helper's numbers are the inline monitor's, before and after the change")
        end = lambda evs: [(e["bestLoss"], e["bestStep"]) for e in evs if e["type"] == "end"]  # noqa: E731
        self.assertEqual(end(offloaded), end(inline), "the best loss the first helper saw is kept")
        if "at 18: offloaded" in err:  # a spare core: the helper handed the run back and was forked again
            self.assertIn("at 40: offloaded", err)

    def test_new_layers_are_measured_on_their_first_step_even_a_light_one(self):
        # Light steps past step 5 (cadence.py): step 21, the first on the new layers, is light by the schedule
        # but carries the per-layer statistics of all three, inline and offloaded; step 22 is light again.
        for env in ({"OPTISCOPE_OFFLOAD": "0"}, {}):
            evs, _ = self.run_case("unfreeze", OPTISCOPE_EVERY="", DETAIL_WARMUP="5", **env)
            steps = {e["step"]: [l["name"] for l in e["layers"]] for e in evs if e["type"] == "step"}
            self.assertEqual(sorted(steps), list(range(1, 61)))
            self.assertEqual(steps[19], [], env)
            self.assertEqual(steps[20], ["model.4"], env)
            self.assertEqual(steps[21], ["model.0", "model.2", "model.4"], env)
            self.assertEqual(steps[22], [], env)
            self.assertEqual(steps[30], ["model.0", "model.2", "model.4"], env)

    def test_layers_unfrozen_in_place_are_announced_unfrozen(self):
        evs, _ = self.run_case("flip", OPTISCOPE_OFFLOAD="0")
        order = [e for e in evs if e["type"] == "fact" and e["fact"]["kind"] == "layer-order"]
        self.assertTrue(order[0]["fact"]["layers"][0].get("frozen"))
        facts = self.layout_facts(evs)
        self.assertEqual([f["fact"]["reason"] for f in facts], ["requires-grad"])
        self.assertTrue(20 <= facts[0]["step"] <= 20 + 20, "seen within one periodic look")
        self.assertFalse(any(l.get("frozen") for l in facts[0]["fact"]["layers"]))

    def test_nothing_changed_nothing_announced(self):
        evs, err = self.run_case("none")
        self.assertEqual(self.layout_facts(evs), [])
        if "at 40: offloaded" in err:
            self.assertGreater(int(err.split("at 40: offloaded")[1].split()[0]), 10, "a loss module per step keeps the short path")

    def test_explicit_mode_a_head_replaced_and_given_to_no_optimizer(self):
        log = os.path.join(self.dir.name, "watch.ndjson")
        r = run(self.script, os.path.join(self.dir.name, "unused.ndjson"), timeout=180, CASE="replace", WATCH=log)
        self.assertEqual(r.returncode, 0, r.stderr)
        evs = events(log)
        unopt = [e for e in evs if e["type"] == "fact" and e["fact"]["kind"] == "unoptimized-params"]
        self.assertEqual([e["fact"]["module"] for e in unopt], ["model.4"])
        self.assertTrue(20 < unopt[0]["step"] <= 20 + 21, "found by a periodic look (explicit mode sees no module created)")
        facts = self.layout_facts(evs)
        self.assertEqual(len(facts), 1)
        layers = facts[0]["fact"]["layers"]
        self.assertEqual([l["name"] for l in layers], ["model.0", "model.2", "model.4 (replaced)"])
        self.assertTrue(layers[2].get("detached"))

    def test_a_head_replaced_with_an_optimizer_of_its_own(self):
        evs, _ = self.run_case("second")
        starts = [e for e in evs if e["type"] == "start"]
        self.assertEqual([[l["name"] for l in s["layers"]] for s in starts], [["model.0", "model.2", "model.4"], ["model.4"]])
        facts = self.layout_facts(evs)
        self.assertEqual([(f["run"], f["step"]) for f in facts], [(starts[0]["run"], 20)])
        self.assertEqual([l["name"] for l in facts[0]["fact"]["layers"]], ["model.0", "model.2", "model.4 (replaced)"])
        self.assertEqual([e for e in evs if e["type"] == "fact" and e["fact"]["kind"] == "unoptimized-params"], [],
                         "the new head has its optimizer")


if __name__ == "__main__":
    unittest.main()
