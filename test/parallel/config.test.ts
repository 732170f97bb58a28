import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, brief } from '../config/helpers';

const base = (parallel: string): string => `problem: { function: quadratic }
training: { optimizer: { name: sgd, lr: 0.01 } }
monitors:
  parallel: ${parallel}
`;

test('monitors.parallel: defaults, an unknown scheme at file:line:col, keys the scheme ignores, alpha with rho', () => {
  const ok = check(base('{ scheme: easgd, workers: 8 }'));
  assert.deepEqual(brief(ok.diagnostics), []);
  assert.deepEqual(ok.config!.monitors.parallel, {
    scheme: 'easgd', workers: 8, staleness: 7, random: false, jitter: 0.5, alpha: 0.9 / 8, period: 4, fetch: 4, push: 4, shards: 1, async: true,
  });
  const bad = check(base('{ scheme: hogwlid }'));
  const [d] = bad.diagnostics.filter((x) => x.severity === 'error');
  assert.equal(`${d.line}:${d.col}`, '4:23');
  assert.match(d.message, /hogwild/);
  const ignored = check(base('{ scheme: sync, alpha: 0.1 }'));
  assert.deepEqual(brief(ignored.diagnostics), ['4:29 warning ignored-key']);
  assert.match(ignored.diagnostics[0].message, /sync scheme does not use alpha/);
  const both = check(base('{ scheme: easgd, alpha: 0.1, rho: 2 }'));
  assert.deepEqual(brief(both.diagnostics), ['4:42 error conflict']);
  assert.equal(check(base('{ scheme: easgd, rho: 2 }')).config!.monitors.parallel!.alpha, 0.02);
  const zero = check(base('{ scheme: delay, workers: 0 }'));
  assert.ok(zero.diagnostics.some((x) => x.severity === 'error' && x.line === 4));
});

test('a race entry may run under its own scheme; it inherits monitors.parallel and gets a label', () => {
  const r = check(`problem: { function: quadratic }
monitors: { parallel: { scheme: sync, workers: 4 } }
race:
  - { name: sgd, lr: 0.01, parallel: { scheme: hogwild } }
  - { name: sgd, lr: 0.01 }
`);
  assert.deepEqual(brief(r.diagnostics), []);
  const [a, b] = r.config!.race!;
  assert.equal(a.label, 'sgd-hogwild');
  assert.equal(a.parallel!.scheme, 'hogwild');
  assert.equal(a.parallel!.workers, 4);
  assert.equal(b.parallel, undefined, 'the other entry runs under monitors.parallel');
});
