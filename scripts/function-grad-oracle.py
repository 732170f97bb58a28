#!/usr/bin/env python3
"""torch autograd's loss and gradient of the contract's test functions, written literally in Python.

    /usr/bin/python3 scripts/function-grad-oracle.py < points

One point per input line: `function x y [a b [inline]]` (x, y, a, b as Python floats or float.hex();
a, b are quadratic's, default 1 and 10; `inline` writes the formula with p[0], p[1] in place of x, y).
One output line per point: `loss dx dy` as float.hex(), i.e. exactly. The oracle of
test/engine/function-torch-exact.test.ts and src/engine/data/torch-order.ts.

    /usr/bin/python3 scripts/function-grad-oracle.py --train < cases.json

Trains instead: a JSON list of cases `{function, start, a?, b?, optimizer: {name, ...Optiscope keys},
steps}`; for each, torch.optim (built as scripts/make-torch-fixtures.py builds it: foreach=False,
Optiscope's keys and defaults) minimizes the literal formula, `opt.zero_grad(); loss.backward();
opt.step()` per step. Prints a JSON list: per case the parameters after every step, as float.hex().

    /usr/bin/python3 scripts/function-grad-oracle.py --batch < {"points": [lines], "cases": [...]}

Both at once (one torch import): prints {"points": [output lines], "runs": [...]}.
"""
import importlib.util
import json
import math
import os
import sys

import torch


def parse(s):
    return float.fromhex(s) if 'x' in s.lower() else float(s)


def formula(name, x, y, a, b):
    if name == 'rosenbrock':
        return (1 - x)**2 + 100 * (y - x**2)**2
    if name == 'beale':
        return (1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2
    if name == 'himmelblau':
        return (x**2 + y - 11)**2 + (x + y**2 - 7)**2
    if name == 'rastrigin':
        return 20 + x**2 - 10*torch.cos(2*math.pi*x) + y**2 - 10*torch.cos(2*math.pi*y)
    if name == 'saddle':
        return x**2 - y**2
    if name == 'monkey-saddle':
        return x**3 - 3*x*y**2
    if name == 'six-hump-camel':
        return (4 - 2.1*x**2 + x**4/3)*x**2 + x*y + (4*y**2 - 4)*y**2
    if name == 'quadratic':
        return 0.5*(a*x**2 + b*y**2)
    raise ValueError(name)



def inline_formula(name, p, a, b):
    # The same formulas with p[0], p[1] in place of x, y (each occurrence its own select).
    src = {
        'rosenbrock': '(1 - p[0])**2 + 100 * (p[1] - p[0]**2)**2',
        'beale': '(1.5 - p[0] + p[0]*p[1])**2 + (2.25 - p[0] + p[0]*p[1]**2)**2 + (2.625 - p[0] + p[0]*p[1]**3)**2',
        'himmelblau': '(p[0]**2 + p[1] - 11)**2 + (p[0] + p[1]**2 - 7)**2',
        'rastrigin': '20 + p[0]**2 - 10*torch.cos(2*math.pi*p[0]) + p[1]**2 - 10*torch.cos(2*math.pi*p[1])',
        'saddle': 'p[0]**2 - p[1]**2',
        'monkey-saddle': 'p[0]**3 - 3*p[0]*p[1]**2',
        'six-hump-camel': '(4 - 2.1*p[0]**2 + p[0]**4/3)*p[0]**2 + p[0]*p[1] + (4*p[1]**2 - 4)*p[1]**2',
        'quadratic': '0.5*(a*p[0]**2 + b*p[1]**2)',
    }[name]
    return eval(src, {'torch': torch, 'math': math}, {'p': p, 'a': a, 'b': b})


_fixtures = None


def make_optimizer(params, spec):
    """scripts/make-torch-fixtures.py's mapping from Optiscope's optimizer spec to torch.optim."""
    global _fixtures
    if _fixtures is None:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'make-torch-fixtures.py')
        loader = importlib.util.spec_from_file_location('make_torch_fixtures', path)
        _fixtures = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(_fixtures)
    return _fixtures.make_optimizer(params, spec)


def train(cases):
    results = []
    for case in cases:
        a, b = case.get('a', 1.0), case.get('b', 10.0)
        p = torch.tensor(case['start'], dtype=torch.float64, requires_grad=True)
        opt = make_optimizer([p], case['optimizer'])
        params = []
        for _ in range(case['steps']):
            opt.zero_grad()
            x, y = p[0], p[1]
            loss = formula(case['function'], x, y, a, b)
            loss.backward()
            opt.step()
            params.append([v.hex() for v in p.tolist()])
        results.append(params)
    return results


def points(lines):
    out = []
    for line in lines:
        f = line.split()
        if not f:
            continue
        name, x0, y0 = f[0], parse(f[1]), parse(f[2])
        a = parse(f[3]) if len(f) > 3 else 1.0
        b = parse(f[4]) if len(f) > 4 else 10.0
        p = torch.tensor([x0, y0], dtype=torch.float64, requires_grad=True)
        if len(f) > 5 and f[5] == 'inline':
            loss = inline_formula(name, p, a, b)
        else:
            x, y = p[0], p[1]
            loss = formula(name, x, y, a, b)
        loss.backward()
        g = p.grad.tolist()
        out.append('%s %s %s' % (loss.item().hex(), g[0].hex(), g[1].hex()))
    return out


def main():
    if '--train' in sys.argv[1:]:
        json.dump(train(json.load(sys.stdin)), sys.stdout)
    elif '--batch' in sys.argv[1:]:
        job = json.load(sys.stdin)
        json.dump({'points': points(job.get('points', [])), 'runs': train(job.get('cases', []))}, sys.stdout)
    else:
        out = points(sys.stdin)
        sys.stdout.write('\n'.join(out) + ('\n' if out else ''))


if __name__ == '__main__':
    main()
