"""The effective learning rate read from the optimizer's state is the step size torch actually applied:
checked against the parameter change torch made (float64), not against a copy of our own formula."""
import os as _os, sys as _sys  # noqa: E401 - the package lives next to this folder
_sys.path.insert(0, _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))))
import unittest

import torch

from optiscope import effective_lr


def run(make, steps=3, seed=0):
    """Runs `steps` updates of one float64 parameter with fixed random gradients; yields, per step,
    (param before, param after, grad, optimizer, group)."""
    torch.manual_seed(seed)
    p = torch.nn.Parameter(torch.randn(7, dtype=torch.float64))
    opt = make([p])
    out = []
    for _ in range(steps):
        g = torch.randn(7, dtype=torch.float64)
        p.grad = g.clone()
        pre = effective_lr.pre_step(opt, p, opt.param_groups[0])
        before = p.detach().clone()
        opt.step()
        post = effective_lr.post_step_tensor(opt, p, opt.param_groups[0])
        # the state as it was right after this update (later steps change it in place)
        state = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in opt.state[p].items()}
        out.append((before, p.detach().clone(), g, state, pre if pre is not None else post))
    return p, out


class EffectiveLrTest(unittest.TestCase):
    def assertClose(self, a, b, rtol=1e-10):
        self.assertTrue(torch.allclose(a, b, rtol=rtol, atol=1e-14), f"{a} != {b}")

    def test_update_equals_minus_eff_times_gradient(self):
        # Optimizers whose update is exactly −eff·g (no momentum term).
        cases = {
            "rmsprop": lambda ps: torch.optim.RMSprop(ps, lr=0.01),
            "rmsprop-centered": lambda ps: torch.optim.RMSprop(ps, lr=0.01, centered=True),
            "adagrad": lambda ps: torch.optim.Adagrad(ps, lr=0.1, lr_decay=0.05),
            "adadelta": lambda ps: torch.optim.Adadelta(ps, lr=1.0, rho=0.9),
        }
        for name, make in cases.items():
            with self.subTest(name):
                _, steps = run(make)
                for before, after, g, _, eff in steps:
                    self.assertClose(after - before, -eff * g)

    def test_adam_family_update_equals_minus_eff_times_first_moment(self):
        cases = {
            "adam": lambda ps: torch.optim.Adam(ps, lr=0.01),
            "amsgrad": lambda ps: torch.optim.Adam(ps, lr=0.01, amsgrad=True),
            "adam-l2": lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.1),
            "adamax": lambda ps: torch.optim.Adamax(ps, lr=0.02),
        }
        for name, make in cases.items():
            with self.subTest(name):
                p, steps = run(make)
                for before, after, _, st, eff in steps:
                    m = st["exp_avg"]
                    self.assertClose(after - before, -eff * m)

    def test_adamw_decoupled_decay(self):
        p, steps = run(lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1))
        for before, after, _, st, eff in steps:
            m = st["exp_avg"]
            self.assertClose(after - before * (1 - 0.01 * 0.1), -eff * m)

    def test_nadam_gradient_coefficient(self):
        # NAdam applies g with coefficient eff and m with another: recover eff from the update.
        p, steps = run(lambda ps: torch.optim.NAdam(ps, lr=0.01))
        b1, b2 = 0.9, 0.999
        for t, (before, after, g, st, eff) in enumerate(steps, start=1):
            denom = (st["exp_avg_sq"] / (1 - b2**t)).sqrt() + 1e-8
            # the momentum part of the update is what is left once eff·g is removed; it is parallel to m/denom
            rest = (after - before) + eff * g
            ratio = rest * denom / st["exp_avg"]
            self.assertTrue(torch.allclose(ratio, ratio[0].expand_as(ratio), rtol=1e-8), ratio)
            mu = b1 * (1 - 0.5 * 0.96 ** (t * 0.004))
            prod = float(st["mu_product"])
            self.assertClose(eff, (0.01 * (1 - mu) / (1 - prod)) / denom)

    def test_sgd_is_constant(self):
        p = torch.nn.Parameter(torch.ones(3))
        opt = torch.optim.SGD([p], lr=0.3, momentum=0.9)
        p.grad = torch.ones(3)
        opt.step()
        self.assertIsNone(effective_lr.post_step_tensor(opt, p, opt.param_groups[0]))
        self.assertFalse(effective_lr.is_adaptive(opt))
        self.assertEqual(effective_lr.group_lrs(opt), [0.3])

    def test_a_complex_parameter_has_one_effective_lr_per_real_component(self):
        # RMSprop's update is exactly −eff·g per real component of view_as_real(p) (the oracle: the step
        # torch applied); the key must not drop the imaginary parts (a cast would, with a warning).
        import warnings
        torch.manual_seed(1)
        p = torch.nn.Parameter(torch.randn(5, dtype=torch.complex128))
        opt = torch.optim.RMSprop([p], lr=0.01)
        for _ in range(3):
            g = torch.randn(5, dtype=torch.complex128)
            p.grad = g.clone()
            before = torch.view_as_real(p.detach()).clone()
            opt.step()
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # "casting complex values to real discards the imaginary part"
                src, zeros = effective_lr.with_gradient(effective_lr.post_step(opt, p, opt.param_groups[0]),
                                                        effective_lr.zero_gradient(p.grad))
                eff = src.fn(src.key)
            self.assertEqual(tuple(eff.shape), (5, 2))
            self.assertEqual(int(zeros), 0)
            self.assertClose(torch.view_as_real(p.detach()) - before, -eff * torch.view_as_real(g))


if __name__ == "__main__":
    unittest.main()
