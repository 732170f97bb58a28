#!/usr/bin/env python3
"""Reference values for Optiscope's network objective, computed with PyTorch in float64.

For small MLPs with given weights and data it writes the loss, the gradient, an exact Hessian-vector
product (double backward), batch-norm running statistics after one training pass, and the evaluation-mode
loss. The layout of the flat parameter vector is Optiscope's: per layer weight [out x in] (as
torch.nn.Linear), bias, then gamma and beta for batch norm.

Usage: /usr/bin/python3 scripts/make-nn-fixtures.py [--out test/fixtures/nn] [--seed 0]
(the committed fixtures use seed 0; the live test runs other seeds into a temporary folder).
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

ACT = {
    'linear': lambda a: a,
    'sigmoid': torch.sigmoid,
    'tanh': torch.tanh,
    'relu': torch.relu,
    'leaky-relu': lambda a: F.leaky_relu(a, 0.01),
    'elu': lambda a: F.elu(a, 1.0),
    'gelu': lambda a: F.gelu(a),  # exact erf form (approximate='none')
    'softmax': lambda a: torch.softmax(a, dim=1),
}

# name, inputs, batch, layers [(units, activation, batch_norm)], loss, classes (None = regression)
CASES = [
    ('tanh-mse', 3, 6, [(5, 'tanh', False), (2, 'linear', False)], 'mse', None),
    ('sigmoid-elu-ce', 4, 7, [(5, 'sigmoid', False), (4, 'elu', False), (3, 'linear', False)], 'cross-entropy', 3),
    ('relu-gelu-softmax-ce', 3, 8, [(6, 'relu', False), (4, 'gelu', False), (3, 'softmax', False)], 'cross-entropy', 3),
    ('leaky-tanh-sigmoid-bce', 2, 6, [(4, 'leaky-relu', False), (3, 'tanh', False), (1, 'sigmoid', False)], 'bce', 2),
    ('gelu-bce-two-units', 3, 5, [(4, 'gelu', False), (2, 'linear', False)], 'bce', 2),
    ('softmax-hidden-mse', 3, 5, [(4, 'softmax', False), (1, 'linear', False)], 'mse', None),
    ('tanh-ce-on-outputs', 3, 6, [(4, 'relu', False), (3, 'tanh', False)], 'cross-entropy', 3),
    ('batchnorm-mse', 3, 8, [(5, 'tanh', True), (4, 'relu', True), (2, 'linear', False)], 'mse', None),
    ('batchnorm-ce', 4, 6, [(5, 'elu', True), (3, 'softmax', False)], 'cross-entropy', 3),
]


def forward(params, x, layers, loss, target, mode, stats):
    """Returns (loss, outputs). stats: per layer [running_mean, running_var] or None."""
    h = x
    k = 0
    lval = None
    for li, (units, act, bn) in enumerate(layers):
        W, b = params[k], params[k + 1]
        k += 2
        a = h @ W.T + b
        if bn:
            gamma, beta = params[k], params[k + 1]
            k += 2
            rm, rv = stats[li]
            if mode == 'train':
                F.batch_norm(a.detach(), rm, rv, training=True, momentum=0.1, eps=1e-5)  # updates rm, rv
                a = F.batch_norm(a, None, None, gamma, beta, training=True, eps=1e-5)
            else:
                a = F.batch_norm(a, rm, rv, gamma, beta, training=False, eps=1e-5)
        last = li == len(layers) - 1
        h = ACT[act](a)
        if last:
            if loss == 'cross-entropy':
                z = a if act in ('linear', 'softmax') else h
                lval = F.cross_entropy(z, target)
            elif loss == 'bce':
                z = a if act in ('linear', 'sigmoid') else h
                lval = F.binary_cross_entropy_with_logits(z, target)
                if act == 'sigmoid':
                    # The fused form is the plain BCE of the sigmoid output.
                    assert torch.allclose(lval, F.binary_cross_entropy(h, target), rtol=1e-10)
            else:
                lval = F.mse_loss(h, target)
    return lval, h


def make_case(name, inputs, batch, layers, loss, classes, rng):
    x = rng.normal(size=(batch, inputs))
    if classes is None:
        y = rng.normal(size=(batch, layers[-1][0]))
        target = torch.tensor(y)
        labels = None
    else:
        labels = np.arange(batch) % classes
        rng.shuffle(labels)
        if loss == 'cross-entropy':
            target = torch.tensor(labels, dtype=torch.long)
        elif layers[-1][0] == 1:
            target = torch.tensor(labels, dtype=torch.float64).reshape(-1, 1)
        else:
            target = F.one_hot(torch.tensor(labels), layers[-1][0]).to(torch.float64)
    params = []
    fan_in = inputs
    for units, act, bn in layers:
        params.append(torch.tensor(rng.normal(size=(units, fan_in)) * 0.8, requires_grad=True))
        params.append(torch.tensor(rng.normal(size=units) * 0.3, requires_grad=True))
        if bn:
            params.append(torch.tensor(1 + 0.2 * rng.normal(size=units), requires_grad=True))
            params.append(torch.tensor(0.2 * rng.normal(size=units), requires_grad=True))
        fan_in = units
    stats = [[torch.zeros(u), torch.ones(u)] if bn else None for u, _, bn in layers]
    lval, out = forward(params, torch.tensor(x), layers, loss, target, 'train', stats)
    grads = torch.autograd.grad(lval, params, create_graph=True)
    v = [torch.tensor(rng.normal(size=p.shape)) for p in params]
    gv = sum((g * d).sum() for g, d in zip(grads, v))
    hv = torch.autograd.grad(gv, params)
    flat = lambda ts: [float(t) for p in ts for t in p.detach().reshape(-1)]
    eval_loss, _ = forward(params, torch.tensor(x), layers, loss, target, 'eval', stats)
    return {
        'name': name,
        'inputs': inputs,
        'layers': [{'units': u, 'activation': a, 'batch_norm': bn} for u, a, bn in layers],
        'loss': loss,
        'classes': classes,
        'x': x.reshape(-1).tolist(),
        # class labels for classification, the regression targets otherwise
        'y': (labels.astype(float).tolist() if labels is not None else y.reshape(-1).tolist()),
        'params': flat(params),
        'v': flat(v),
        'expected': {
            'loss': float(lval),
            'grad': flat(grads),
            'hvp': flat(hv),
            'runningMean': [[float(t) for t in s[0]] if s else None for s in stats],
            'runningVar': [[float(t) for t in s[1]] if s else None for s in stats],
            'evalLoss': float(eval_loss),
        },
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'nn'))
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    cases = [make_case(*c, rng) for c in CASES]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, 'mlp-cases.json'), 'w') as f:
        json.dump({'torch': torch.__version__, 'seed': args.seed, 'cases': cases}, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
