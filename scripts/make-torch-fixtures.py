#!/usr/bin/env python3
"""Reference trajectories from torch.optim for the optimizer tests (test/optim/).

    /usr/bin/python3 scripts/make-torch-fixtures.py            # rewrites test/fixtures/torch/*.json
    /usr/bin/python3 scripts/make-torch-fixtures.py --live     # JSON cases on stdin -> results on stdout

Everything runs in float64 (torch.set_default_dtype) with the single-tensor (foreach=False) kernels.
A test-function case optimizes one tensor p = [x, y]; at every step it records the gradient torch's
autograd computed, the lr the optimizer read, the parameters after the update, and the effective
learning rate derived *independently* from the optimizer's state after the update (state['step'],
exp_avg_sq, sum, square_avg, acc_delta, exp_inf, mu_product ...), not by re-running the update rule.

Keys of an optimizer spec are Optiscope's (beta1/beta2, not betas); missing keys take torch's defaults,
so the tests also check that Optiscope's catalog defaults are torch's.
"""
import base64
import inspect
import json
import math
import os
import sys

import torch

torch.set_default_dtype(torch.float64)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'torch')

def f64(values):
    """A series of float64 values as base64 of their little-endian bytes: exact and a third of the size of text."""
    return base64.b64encode(torch.tensor(values, dtype=torch.float64).numpy().astype('<f8').tobytes()).decode('ascii')


# ----------------------------------------------------------------------------------------------
# Test functions (the contract's formulas), differentiated by autograd.


def test_function(name, a=1.0, b=10.0):
    two_pi = 2 * math.pi

    def f(p):
        x, y = p[0], p[1]
        if name == 'rosenbrock':
            return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2
        if name == 'beale':
            return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2
        if name == 'himmelblau':
            return (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2
        if name == 'rastrigin':
            return 20 + x ** 2 - 10 * torch.cos(two_pi * x) + y ** 2 - 10 * torch.cos(two_pi * y)
        if name == 'saddle':
            return x ** 2 - y ** 2
        if name == 'monkey-saddle':
            return x ** 3 - 3 * x * y ** 2
        if name == 'six-hump-camel':
            return (4 - 2.1 * x ** 2 + x ** 4 / 3) * x ** 2 + x * y + (4 * y ** 2 - 4) * y ** 2
        if name == 'quadratic':
            return 0.5 * (a * x ** 2 + b * y ** 2)
        raise ValueError(name)

    return f


# ----------------------------------------------------------------------------------------------
# Optimizers: Optiscope's names and keys -> torch.optim.

TORCH_CLASS = {
    'sgd': torch.optim.SGD, 'momentum': torch.optim.SGD, 'nesterov': torch.optim.SGD,
    'adagrad': torch.optim.Adagrad, 'adadelta': torch.optim.Adadelta, 'rmsprop': torch.optim.RMSprop,
    'adam': torch.optim.Adam, 'amsgrad': torch.optim.Adam, 'adamax': torch.optim.Adamax,
    'nadam': torch.optim.NAdam, 'adamw': torch.optim.AdamW,
}
PLAIN_KEYS = ['lr', 'weight_decay', 'momentum', 'dampening', 'lr_decay', 'eps', 'initial_accumulator_value',
              'rho', 'alpha', 'centered', 'momentum_decay']


def torch_defaults(name):
    """torch's constructor defaults under Optiscope's keys (momentum 0.9 for momentum/nesterov is Optiscope's)."""
    sig = inspect.signature(TORCH_CLASS[name].__init__).parameters
    out = {}
    for k in PLAIN_KEYS:
        d = sig[k].default if k in sig else None
        if isinstance(d, (int, float)) and not isinstance(d, bool):
            out[k] = d  # SGD's lr is `required` in torch: no default to compare
        elif k == 'centered' and k in sig:
            out[k] = sig[k].default
    if 'betas' in sig:
        out['beta1'], out['beta2'] = sig['betas'].default
    if name in ('momentum', 'nesterov'):
        out.pop('momentum', None)
    if name in ('sgd', 'nesterov'):
        out.pop('dampening', None)
    if name == 'sgd':
        out.pop('momentum', None)
    return out


def make_optimizer(params, spec):
    name = spec['name']
    kw = {k: spec[k] for k in PLAIN_KEYS if k in spec}
    if 'beta1' in spec or 'beta2' in spec:
        sig = inspect.signature(TORCH_CLASS[name].__init__).parameters
        b1, b2 = sig['betas'].default
        kw['betas'] = (spec.get('beta1', b1), spec.get('beta2', b2))
    if name == 'momentum':
        kw.setdefault('momentum', 0.9)
    if name == 'nesterov':
        kw.setdefault('momentum', 0.9)
        kw['nesterov'] = True
    if name == 'amsgrad':
        kw['amsgrad'] = True
    if name in ('sgd',):
        kw.pop('momentum', None)
    if 'lr' not in kw and not isinstance(inspect.signature(TORCH_CLASS[name].__init__).parameters['lr'].default, float):
        kw['lr'] = 0.01  # torch.optim.SGD has no default lr; Optiscope's is 0.01
    kw['foreach'] = False
    return TORCH_CLASS[name](params, **kw)


def effective_lr(opt, p, lr, acc_before):
    """Per-parameter step per unit of gradient, from torch's state after the update."""
    g = opt.param_groups[0]
    st = opt.state[p]
    name = g['__optiscope_name']
    if name in ('sgd', 'momentum', 'nesterov'):
        return torch.full_like(p, lr)
    if name == 'adagrad':
        s = st['step'].item()
        clr = lr / (1 + (s - 1) * g['lr_decay'])
        return clr / (st['sum'].sqrt() + g['eps'])
    if name == 'adadelta':
        return lr * (acc_before + g['eps']).sqrt() / (st['square_avg'] + g['eps']).sqrt()
    if name == 'rmsprop':
        sq = st['square_avg']
        if g['centered']:
            sq = sq.addcmul(st['grad_avg'], st['grad_avg'], value=-1)  # the variance, rounded as torch does
        return lr / (sq.sqrt() + g['eps'])
    b1, b2 = g['betas']
    s = st['step'].item()
    if name in ('adam', 'adamw', 'amsgrad'):
        v = st['max_exp_avg_sq'] if name == 'amsgrad' else st['exp_avg_sq']
        return lr / (1 - b1 ** s) / ((v / (1 - b2 ** s)).sqrt() + g['eps'])
    if name == 'adamax':
        return lr / (1 - b1 ** s) / st['exp_inf']
    if name == 'nadam':
        mu = b1 * (1 - 0.5 * 0.96 ** (s * g['momentum_decay']))
        coef = lr * (1 - mu) / (1 - st['mu_product'].item())
        return coef / ((st['exp_avg_sq'] / (1 - b2 ** s)).sqrt() + g['eps'])
    raise ValueError(name)


def make_schedule(opt, spec, total):
    """torch's scheduler for an Optiscope schedule spec (None for constant)."""
    if spec is None:
        return None
    S = torch.optim.lr_scheduler
    name = spec['name']
    warm = spec.get('warmup', 0)
    inner_total = total - warm
    lr = opt.param_groups[0]['lr']
    if name == 'constant':
        inner = S.LambdaLR(opt, lambda t: 1.0)
    elif name == 'step':
        inner = S.StepLR(opt, step_size=spec['step_size'], gamma=spec['gamma'])
    elif name == 'exponential':
        inner = S.ExponentialLR(opt, gamma=spec['gamma'])
    elif name == 'inverse-time':
        d, pw = spec['decay'], spec.get('power', 1.0)
        inner = S.LambdaLR(opt, lambda t: (1 + d * t) ** -pw)
    elif name == 'cosine':
        inner = S.CosineAnnealingLR(opt, T_max=spec.get('t_max', inner_total), eta_min=spec.get('eta_min', 0))
    elif name == 'cosine-restarts':
        inner = S.CosineAnnealingWarmRestarts(opt, T_0=spec['t_0'], T_mult=spec.get('t_mult', 1),
                                              eta_min=spec.get('eta_min', 0))
    elif name == 'cyclic':
        inner = S.CyclicLR(opt, base_lr=spec.get('base_lr', lr / 10), max_lr=spec.get('max_lr', lr),
                           step_size_up=spec['step_size_up'], mode=spec.get('mode', 'triangular'),
                           gamma=spec.get('gamma', 1.0), cycle_momentum=False)
    elif name == 'reduce-on-plateau':
        assert warm == 0
        return S.ReduceLROnPlateau(opt, mode='min', factor=spec['factor'], patience=spec['patience'],
                                   threshold=spec['threshold'], cooldown=spec['cooldown'], min_lr=spec['min_lr'])
    else:
        raise ValueError(name)
    if warm == 0:
        return inner
    for grp in opt.param_groups:
        grp['lr'] = grp['initial_lr']
    w = S.LinearLR(opt, start_factor=spec['warmup_start'], end_factor=1.0, total_iters=warm)
    return S.SequentialLR(opt, [w, inner], milestones=[warm])


def run_function_case(case, record_eff_every=1):
    f = test_function(case['function'], case.get('a', 1.0), case.get('b', 10.0))
    p = torch.tensor(case['start'], dtype=torch.float64, requires_grad=True)
    spec = case['optimizer']
    opt = make_optimizer([p], spec)
    opt.param_groups[0]['__optiscope_name'] = spec['name']
    sched = make_schedule(opt, case.get('schedule'), case['steps'])
    clip_norm = case.get('clip_norm')
    clip_value = case.get('clip_value')
    params, grads, lrs, eff, losses, norms = [], [], [], [], [], []
    for t in range(case['steps']):
        opt.zero_grad()
        loss = f(p)
        loss.backward()
        grads.extend(p.grad.tolist())
        losses.append(loss.item())
        if clip_norm is not None:
            norms.append(torch.nn.utils.clip_grad_norm_([p], clip_norm).item())
        if clip_value is not None:
            torch.nn.utils.clip_grad_value_([p], clip_value)
        lr = opt.param_groups[0]['lr']
        lrs.append(lr)
        st = opt.state[p]
        acc_before = st['acc_delta'].clone() if 'acc_delta' in st else torch.zeros_like(p)
        opt.step()
        params.extend(p.tolist())
        if t % record_eff_every == 0:
            with torch.no_grad():
                eff.extend(effective_lr(opt, p, lr, acc_before).tolist())
        if sched is not None:
            if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                sched.step(loss.item())
            else:
                sched.step()
    out = dict(case)
    out.update(params=f64(params), grads=f64(grads), effEvery=record_eff_every, eff=f64(eff), losses=f64(losses))
    if case.get('schedule') is not None:
        out['lrs'] = f64(lrs)
    if clip_norm is not None:
        out['norms'] = f64(norms)
    return out


# ----------------------------------------------------------------------------------------------
# The fixed cases.

def optimizer_cases():
    C = []

    def add(name, fn, start, steps=300, **hyper):
        C.append({'optimizer': dict(name=name, **hyper), 'function': fn, 'start': start, 'steps': steps})

    # sgd
    add('sgd', 'rosenbrock', [-1.5, 2.0], lr=1e-3)
    add('sgd', 'six-hump-camel', [-1.5, 1.0])
    add('sgd', 'quadratic', [1.0, 1.0], lr=0.19)  # lr·b = 1.9: oscillates across the valley
    add('sgd', 'himmelblau', [0.0, 0.0], lr=0.01, weight_decay=0.1)
    # momentum
    add('momentum', 'rosenbrock', [-1.5, 2.0], lr=1e-3)
    add('momentum', 'beale', [1.0, 1.5], lr=0.01, momentum=0.5, dampening=0.3)
    add('momentum', 'rastrigin', [2.3, -1.7], lr=2e-3, weight_decay=0.05)
    add('momentum', 'saddle', [-1.5, 0.01], lr=0.01, momentum=0.95, dampening=0.1, weight_decay=0.01)
    # nesterov
    add('nesterov', 'rosenbrock', [-1.5, 2.0], lr=1e-3)
    add('nesterov', 'himmelblau', [-1.0, -1.0], lr=5e-3, momentum=0.7, weight_decay=0.02)
    add('nesterov', 'quadratic', [-1.8, 1.0], lr=0.05, momentum=0.99)
    add('nesterov', 'six-hump-camel', [1.7, -0.8], lr=0.01, momentum=0.8)
    # adagrad
    add('adagrad', 'rosenbrock', [-1.5, 2.0], lr=0.5)
    add('adagrad', 'himmelblau', [0.5, 4.5], lr=0.3, lr_decay=0.01)
    add('adagrad', 'beale', [1.0, 1.5], lr=0.1, initial_accumulator_value=0.5, weight_decay=0.01)
    add('adagrad', 'rastrigin', [2.2, 2.7], lr=0.05, eps=1e-6)
    # adadelta
    add('adadelta', 'rosenbrock', [-1.5, 2.0])
    add('adadelta', 'six-hump-camel', [-1.5, 1.0], lr=10.0, rho=0.95)
    add('adadelta', 'quadratic', [-1.8, 1.0], lr=20.0, eps=1e-4, weight_decay=0.1)
    add('adadelta', 'saddle', [-1.5, 0.01], lr=50.0, rho=0.5)
    # rmsprop
    add('rmsprop', 'rosenbrock', [-1.5, 2.0], lr=1e-3)
    add('rmsprop', 'himmelblau', [0.5, 4.5], lr=0.01, centered=True)
    add('rmsprop', 'beale', [1.0, 1.5], lr=1e-3, momentum=0.9)
    add('rmsprop', 'rastrigin', [2.2, 2.7], lr=3e-3, centered=True, momentum=0.5, alpha=0.9, weight_decay=0.05)
    add('rmsprop', 'six-hump-camel', [1.7, -0.8], lr=0.02, alpha=0.5, eps=1e-3)
    # adam
    add('adam', 'rosenbrock', [-1.5, 2.0], lr=0.01)
    add('adam', 'beale', [1.0, 1.5], lr=0.05, beta1=0.5, beta2=0.9)
    add('adam', 'rastrigin', [2.2, 2.7], lr=0.02, weight_decay=0.1)
    add('adam', 'saddle', [-1.5, 0.01], lr=0.01, eps=1e-3)
    add('adam', 'six-hump-camel', [-1.5, 1.0], beta1=0.0, beta2=0.99)
    # amsgrad
    add('amsgrad', 'rosenbrock', [-1.5, 2.0], lr=0.01)
    add('amsgrad', 'himmelblau', [0.0, 0.0], lr=0.1, beta1=0.8, beta2=0.95, weight_decay=0.01)
    add('amsgrad', 'rastrigin', [2.3, -1.7], lr=0.05)
    add('amsgrad', 'quadratic', [-1.8, 1.0], lr=0.05, eps=1e-2)
    # adamax
    add('adamax', 'rosenbrock', [-1.5, 2.0], lr=0.02)
    add('adamax', 'beale', [1.0, 1.5], lr=0.05, beta1=0.7, beta2=0.99, weight_decay=0.01)
    add('adamax', 'saddle', [-1.5, 0.01], lr=0.02, eps=1e-3)
    add('adamax', 'six-hump-camel', [1.7, -0.8])
    # nadam
    add('nadam', 'rosenbrock', [-1.5, 2.0], lr=0.01)
    add('nadam', 'himmelblau', [0.5, 4.5], lr=0.05, momentum_decay=0.02)
    add('nadam', 'rastrigin', [2.2, 2.7], lr=0.02, beta1=0.8, beta2=0.99, weight_decay=0.05)
    add('nadam', 'quadratic', [-1.8, 1.0], lr=0.1, momentum_decay=0.0, eps=1e-4)
    # adamw
    add('adamw', 'rosenbrock', [-1.5, 2.0], lr=0.01)
    add('adamw', 'beale', [1.0, 1.5], lr=0.05, weight_decay=0.5)
    add('adamw', 'himmelblau', [-1.0, -1.0], lr=0.05, beta1=0.5, beta2=0.9, weight_decay=0.0)
    add('adamw', 'six-hump-camel', [-1.5, 1.0], lr=0.01, eps=1e-4, weight_decay=2.0)
    return C


def schedule_cases():
    C = []

    def add(opt, fn, start, schedule, steps=300):
        C.append({'optimizer': opt, 'function': fn, 'start': start, 'steps': steps, 'schedule': schedule})

    sgd = {'name': 'sgd', 'lr': 2e-3}
    adam = {'name': 'adam', 'lr': 0.05}
    add(sgd, 'rosenbrock', [-1.5, 2.0], {'name': 'step', 'step_size': 40, 'gamma': 0.5})
    add(adam, 'beale', [1.0, 1.5], {'name': 'exponential', 'gamma': 0.99})
    add(sgd, 'himmelblau', [0.0, 0.0], {'name': 'inverse-time', 'decay': 0.05, 'power': 1.0})
    add(adam, 'rosenbrock', [-1.5, 2.0], {'name': 'inverse-time', 'decay': 0.01, 'power': 0.5})
    add(adam, 'rosenbrock', [-1.5, 2.0], {'name': 'cosine', 'eta_min': 1e-4})
    add(adam, 'rastrigin', [2.2, 2.7], {'name': 'cosine', 't_max': 120, 'eta_min': 0.0})
    add(adam, 'himmelblau', [0.5, 4.5], {'name': 'cosine-restarts', 't_0': 30, 't_mult': 2, 'eta_min': 1e-3})
    add(sgd, 'six-hump-camel', [-1.5, 1.0], {'name': 'cosine-restarts', 't_0': 50, 't_mult': 1, 'eta_min': 0.0})
    add({'name': 'momentum', 'lr': 1e-3}, 'rosenbrock', [-1.5, 2.0], {'name': 'cyclic', 'step_size_up': 25, 'mode': 'triangular'})
    add(adam, 'beale', [1.0, 1.5], {'name': 'cyclic', 'step_size_up': 20, 'mode': 'triangular2', 'base_lr': 0.001, 'max_lr': 0.1})
    add(sgd, 'himmelblau', [0.0, 0.0], {'name': 'cyclic', 'step_size_up': 30, 'mode': 'exp_range', 'gamma': 0.99})
    add(adam, 'rosenbrock', [-1.5, 2.0], {'name': 'cosine', 'warmup': 25, 'warmup_start': 0.1, 'eta_min': 0.0})
    add(sgd, 'beale', [1.0, 1.5], {'name': 'step', 'warmup': 10, 'warmup_start': 0.01, 'step_size': 50, 'gamma': 0.3})
    add(adam, 'six-hump-camel', [1.7, -0.8], {'name': 'constant', 'warmup': 40, 'warmup_start': 0.25})
    add({'name': 'momentum', 'lr': 2e-3}, 'rastrigin', [2.2, 2.7],
        {'name': 'reduce-on-plateau', 'factor': 0.5, 'patience': 5, 'threshold': 1e-3, 'cooldown': 2, 'min_lr': 1e-5})
    add({'name': 'sgd', 'lr': 0.2}, 'quadratic', [1.0, 1.0],  # lr·b = 2: y flips sign forever until reduced
        {'name': 'reduce-on-plateau', 'factor': 0.3, 'patience': 0, 'threshold': 1e-4, 'cooldown': 0, 'min_lr': 0.0})
    return C


def clip_cases():
    return [
        {'optimizer': {'name': 'sgd', 'lr': 0.01}, 'function': 'rosenbrock', 'start': [-1.5, 2.0], 'steps': 300, 'clip_norm': 1.0},
        {'optimizer': {'name': 'adam', 'lr': 0.05}, 'function': 'beale', 'start': [1.0, 1.5], 'steps': 300, 'clip_norm': 0.5},
        {'optimizer': {'name': 'momentum', 'lr': 0.01}, 'function': 'himmelblau', 'start': [0.0, 0.0], 'steps': 300, 'clip_norm': 5.0},
        {'optimizer': {'name': 'sgd', 'lr': 0.01}, 'function': 'six-hump-camel', 'start': [-1.5, 1.0], 'steps': 300, 'clip_value': 0.5},
    ]


# ----------------------------------------------------------------------------------------------
# A tiny 2-3-1 tanh network with fixed weights and data, full-batch MSE.

MLP_W1 = [[0.5, -0.3], [0.8, 0.2], [-0.6, 0.7]]
MLP_B1 = [0.1, -0.2, 0.05]
MLP_W2 = [[0.9, -0.4, 0.3]]
MLP_B2 = [0.0]
MLP_X = [[-1.0, -0.5], [-0.8, 0.9], [-0.2, 0.1], [0.0, -1.0], [0.3, 0.6], [0.7, -0.2], [0.9, 0.8], [1.0, -0.9]]
MLP_Y = [[math.sin(2 * a) * math.cos(b)] for a, b in MLP_X]
MLP_LR = {'sgd': 0.1, 'momentum': 0.05, 'nesterov': 0.05, 'adagrad': 0.1, 'adadelta': 1.0, 'rmsprop': 0.01,
          'adam': 0.02, 'amsgrad': 0.02, 'adamax': 0.02, 'nadam': 0.02, 'adamw': 0.02}
MLP_EXTRA = {'momentum': {'weight_decay': 1e-3}, 'rmsprop': {'centered': True}, 'adamw': {'weight_decay': 0.1}}


def run_mlp(spec, steps=100, every=10):
    l1 = torch.nn.Linear(2, 3)
    l2 = torch.nn.Linear(3, 1)
    with torch.no_grad():
        l1.weight.copy_(torch.tensor(MLP_W1)); l1.bias.copy_(torch.tensor(MLP_B1))
        l2.weight.copy_(torch.tensor(MLP_W2)); l2.bias.copy_(torch.tensor(MLP_B2))
    ps = [l1.weight, l1.bias, l2.weight, l2.bias]
    opt = make_optimizer(ps, spec)
    X, Y = torch.tensor(MLP_X), torch.tensor(MLP_Y)
    losses, snaps = [], []
    for t in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(l2(torch.tanh(l1(X))), Y)
        loss.backward()
        losses.append(loss.item())
        opt.step()
        if (t + 1) % every == 0:
            snaps.append([v for q in ps for v in q.detach().reshape(-1).tolist()])
    return {'optimizer': spec, 'steps': steps, 'every': every, 'losses': f64(losses), 'params': f64([v for s in snaps for v in s])}


def main():
    if '--live' in sys.argv:
        cases = json.load(sys.stdin)
        json.dump({'torch': torch.__version__, 'results': [run_function_case(c) for c in cases]}, sys.stdout)
        sys.stdout.write('\n')
        return
    os.makedirs(OUT, exist_ok=True)
    meta = {'torch': torch.__version__, 'generator': 'scripts/make-torch-fixtures.py',
            'encoding': 'series are base64 of little-endian float64; params/grads/eff interleave x, y per step'}

    def write(name, obj):
        path = os.path.join(OUT, name)
        with open(path, 'w') as fh:
            json.dump(dict(meta, **obj), fh, separators=(',', ':'))
        print(f'{path}: {os.path.getsize(path)} bytes', file=sys.stderr)

    write('optimizers.json', {
        'defaults': {n: torch_defaults(n) for n in TORCH_CLASS},
        'cases': [run_function_case(c, record_eff_every=5) for c in optimizer_cases()],
    })
    sched = [run_function_case(c, record_eff_every=1000) for c in schedule_cases()]
    for c in sched:
        if c['schedule']['name'] == 'reduce-on-plateau':
            lrs = set(base64.b64decode(c['lrs'])[i:i + 8] for i in range(0, 8 * c['steps'], 8))
            assert len(lrs) >= 2, f'plateau case should reduce the lr: {len(lrs)} values'
    write('schedules.json', {'cases': sched})
    write('clip.json', {'cases': [run_function_case(c, record_eff_every=1000) for c in clip_cases()]})
    mlp = {'w1': MLP_W1, 'b1': MLP_B1, 'w2': MLP_W2, 'b2': MLP_B2, 'x': MLP_X, 'y': MLP_Y, 'cases': []}
    for name in TORCH_CLASS:
        spec = dict(name=name, lr=MLP_LR[name], **MLP_EXTRA.get(name, {}))
        mlp['cases'].append(run_mlp(spec))
    write('mlp.json', mlp)


if __name__ == '__main__':
    main()
