"""The flat statistics (optiscope/flat_stats.py) against the per-tensor path they replace on the CPU
(StatsCollector(flat=False)) and against float64 sums of the same tensors: the effective-lr bands and the
zero-gradient counts are bit-identical; the norms are within float rounding of the exact norms (pairwise
sums in the tensors' precision: relative error below 1e-6 in float32, 1e-12 in float64, where torch's
float32 norm is off by up to 1e-4 on 200k-element tensors). Six optimizers and more, dead units, NaN and
inf gradients, frozen parameters, an empty layer, sparse gradients, float32 and float64, and the helper
process's way of calling it (gradient views, private weight copies, keep_as_before)."""
import os as _os, sys as _sys  # noqa: E401 - the package lives next to this folder
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import math
import unittest
from typing import Callable, Dict, List, Optional

import torch
from torch import nn

from optiscope import naming
from optiscope.stats import MEDIAN_SAMPLE, StatsCollector, StepStats
from tests.test_band import same  # equal, NaN equal to NaN, through dicts

torch.set_num_threads(1)

OPTIMIZERS: Dict[str, Callable] = {
    "SGD": lambda ps: torch.optim.SGD(ps, lr=1e-2),
    "momentum": lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.9, nesterov=True),
    "Adam": lambda ps: torch.optim.Adam(ps, lr=1e-3),
    "AdamW amsgrad": lambda ps: torch.optim.AdamW(ps, lr=3e-3, amsgrad=True),
    "RMSprop": lambda ps: torch.optim.RMSprop(ps, lr=1e-2),
    "RMSprop centered": lambda ps: torch.optim.RMSprop(ps, lr=1e-2, centered=True),
    "Adagrad": lambda ps: torch.optim.Adagrad(ps, lr=1e-2, lr_decay=1e-3),
    "NAdam": lambda ps: torch.optim.NAdam(ps, lr=2e-3),
    "Adamax": lambda ps: torch.optim.Adamax(ps, lr=2e-3),
}


class Net(nn.Module):
    """1,240 weights in fc1 (above MEDIAN_SAMPLE: a strided median sample), two dead units, a frozen layer
    (in the optimizer, never a gradient), and with `empty`, a layer of 0 parameters."""

    def __init__(self, empty: bool = False) -> None:
        super().__init__()
        self.fc1 = nn.Linear(31, 40)
        self.fc2 = nn.Linear(40, 7)
        self.fc3 = nn.Linear(7, 1)
        self.frozen = nn.Linear(3, 3)
        self.frozen.requires_grad_(False)
        self.empty = nn.Linear(4, 0) if empty else None
        with torch.no_grad():  # two dead units: their weights and bias never get a gradient
            self.fc1.weight[:2].fill_(-1.0)
            self.fc1.bias[:2] = -100.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc3(torch.tanh(self.fc2(torch.relu(self.fc1(x))))) + self.frozen(x[:, :3]).sum(1, keepdim=True) * 0.1
        if self.empty is not None:
            y = y + self.empty(x[:, :4]).sum()
        return y


def exact_norm(ts: List[Optional[torch.Tensor]]) -> float:
    return math.sqrt(sum(float(t.double().pow(2).sum()) for t in ts if t is not None))


class FlatStatsTest(unittest.TestCase):
    def run_steps(self, make_opt, dtype=torch.float32, steps: int = 4, poison: Optional[float] = None, empty: bool = False,
                  helper: bool = False) -> int:
        torch.manual_seed(0)
        model = Net(empty).to(dtype)
        opt = make_opt(model.parameters())
        layout = naming.build_layout([p for g in opt.param_groups for p in g["params"]], [model])
        flat, ref = StatsCollector(opt, layout), StatsCollector(opt, layout, flat=False)
        self.assertIsNotNone(flat.flat_path)
        self.assertGreater(model.fc1.weight.numel(), MEDIAN_SAMPLE)
        x, y = torch.rand(64, 31, dtype=dtype), torch.randn(64, 1, dtype=dtype)
        tol = 1e-6 if dtype == torch.float32 else 1e-12
        weights = [p.detach().clone() for p in flat.flat]
        if helper:
            flat.snapshot()
        for i in range(steps):
            opt.zero_grad()
            ((model(x) - y) ** 2).mean().backward()
            if poison is not None and i == steps - 1:  # a non-finite gradient in part of fc2
                model.fc2.weight.grad[0, :3] = poison
            grads = [None if p.grad is None else p.grad.detach().clone() for p in flat.flat]
            before = [p.detach().clone() for p in flat.flat]
            ref.before()
            if helper:  # the helper: the step's gradients copied, read after the update from the copies
                views = [None if g is None else g.clone() for g in grads]
                opt.step()
                for w, p in zip(weights, flat.flat):
                    w.copy_(p)
                live = [p.grad for p in flat.flat]
                flat.clear_grad_norms()
                for p, g in zip(flat.flat, views):
                    p.grad = g
                s_flat = flat.after(None, weights=weights)
                weights = flat.keep_as_before(weights)
                for p, g in zip(flat.flat, live):
                    p.grad = g
            else:
                flat.before()
                opt.step()
                s_flat = flat.after(None)
            s_ref = ref.after(None)
            self.check(s_flat, s_ref, flat, grads, before, tol)
        return flat.flat_path.steps  # type: ignore[union-attr]

    def check(self, s_flat: StepStats, s_ref: StepStats, sc: StatsCollector, grads: List[Optional[torch.Tensor]],
              before: List[torch.Tensor], tol: float) -> None:
        for (name, a, b, params), lf, lr in zip(sc._layers, s_flat.layers, s_ref.layers):
            self.assertTrue(same(lf["effectiveLr"], lr["effectiveLr"]), f"{name}: {lf['effectiveLr']} != {lr['effectiveLr']}")
            self.assertEqual(lf.get("zeroGrad"), lr.get("zeroGrad"), name)
            exact = {"gradNorm": exact_norm(grads[a:b]), "weightNorm": exact_norm([p.detach() for p in params]),
                     "updateNorm": exact_norm([p.detach() - q for p, q in zip(params, before[a:b])])}
            for key, want in exact.items():
                got = lf[key]
                if math.isfinite(want) and math.isfinite(lr[key]):
                    self.assertLessEqual(abs(got - want), tol * want, f"{name} {key}: {got} vs exact {want}")
                else:  # NaN/inf, or a float32 square that overflows in torch's norm as in numpy's
                    self.assertEqual(math.isfinite(got), math.isfinite(lr[key]), f"{name} {key}: {got} vs {lr[key]}")
        self.assertEqual([math.isfinite(x) for x in s_flat.param_grad_norms], [math.isfinite(x) for x in s_ref.param_grad_norms])
        self.assertEqual([math.isfinite(x) for x in s_flat.param_weight_norms], [math.isfinite(x) for x in s_ref.param_weight_norms])

    def test_optimizers_float32_and_float64(self):
        for name, make in OPTIMIZERS.items():
            for dtype in (torch.float32, torch.float64):
                with self.subTest(optimizer=name, dtype=dtype):
                    flat_steps = self.run_steps(make, dtype)
                    # every step on the flat path, but centered RMSprop's (its key is computed: per tensor)
                    self.assertEqual(flat_steps, 0 if name == "RMSprop centered" else 4)

    def test_the_helper_process_calls(self):
        for name in ("SGD", "Adam", "Adagrad"):
            with self.subTest(optimizer=name):
                self.assertEqual(self.run_steps(OPTIMIZERS[name], helper=True), 4)

    def test_nan_and_inf_gradients(self):
        for name in ("SGD", "Adam", "RMSprop"):
            for poison in (math.nan, math.inf):
                with self.subTest(optimizer=name, poison=poison):
                    self.run_steps(OPTIMIZERS[name], poison=poison)

    def test_overflowing_squares_give_inf_norms_and_no_warning(self):
        """A float32 gradient of 1e30: its square overflows, as in torch's float32 norm (inf), silently."""
        import warnings

        with warnings.catch_warnings(record=True) as seen:
            self.run_steps(OPTIMIZERS["SGD"], poison=1e30)
        self.assertEqual([(str(w.message), w.filename) for w in seen if issubclass(w.category, RuntimeWarning)], [])

    def test_an_empty_layer_is_switched_off_as_before(self):
        for name in ("Adam", "SGD"):
            with self.subTest(optimizer=name):
                # Adam: the first step on the per-tensor path, which switches the empty layer's band off
                self.assertEqual(self.run_steps(OPTIMIZERS[name], empty=True), 3 if name == "Adam" else 4)

    def test_sparse_gradients_take_the_per_tensor_path(self):
        torch.manual_seed(0)
        emb = nn.Embedding(50, 8, sparse=True)
        head = nn.Linear(8, 1)
        model = nn.Sequential(emb, head)
        opt = torch.optim.Adagrad(model.parameters(), lr=0.1)
        layout = naming.build_layout(list(model.parameters()), [model])
        flat, ref = StatsCollector(opt, layout), StatsCollector(opt, layout, flat=False)
        for _ in range(3):
            opt.zero_grad()
            model(torch.randint(0, 50, (16, 3))).mean().backward()
            grads = [p.grad.to_dense().clone() for p in flat.flat]
            before = [p.detach().clone() for p in flat.flat]
            flat.before()
            ref.before()
            opt.step()
            self.check(flat.after(None), ref.after(None), flat, grads, before, 1e-6)

    def test_a_layer_with_several_rules_takes_the_per_tensor_path(self):
        """fc1's bias in a group with another lr: two host maps in one layer."""
        torch.manual_seed(0)
        model = Net()
        groups = [{"params": [p for n, p in model.named_parameters() if n != "fc1.bias"]},
                  {"params": [model.fc1.bias], "lr": 1e-2}]
        for make in (lambda: torch.optim.Adam(groups, lr=1e-3), lambda: torch.optim.SGD(groups, lr=1e-3)):
            opt = make()
            layout = naming.build_layout([p for g in opt.param_groups for p in g["params"]], [model])
            flat, ref = StatsCollector(opt, layout), StatsCollector(opt, layout, flat=False)
            x, y = torch.rand(64, 31), torch.randn(64, 1)
            for _ in range(2):
                opt.zero_grad()
                ((model(x) - y) ** 2).mean().backward()
                grads = [None if p.grad is None else p.grad.clone() for p in flat.flat]
                before = [p.detach().clone() for p in flat.flat]
                flat.before()
                ref.before()
                opt.step()
                self.check(flat.after(None), ref.after(None), flat, grads, before, 1e-6)


if __name__ == "__main__":
    unittest.main()
