import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { eventSchema } from '../../src/engine/protocol';
import { isPlainStep } from '../../src/webview/fast-step';

// Values a hostile or broken producer might put anywhere.
const junk = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, -1, 0.5, 2 ** 53, 'NaN', '', null, undefined, true, [], {}, 'x'.repeat(201)),
  fc.double(), fc.integer(), fc.string({ maxLength: 3 }),
);
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const layer = fc.record(
  {
    name: fc.string({ minLength: 1, maxLength: 5 }),
    gradNorm: finite, weightNorm: finite, updateNorm: finite,
    effectiveLr: fc.record({ min: finite, p50: finite, max: finite }),
    deadFraction: finite,
  },
  { requiredKeys: ['name', 'gradNorm', 'weightNorm', 'updateNorm', 'effectiveLr'] },
);
const step = fc.record(
  {
    type: fc.constant('step'), run: fc.string({ minLength: 1, maxLength: 5 }), step: fc.nat(), epoch: fc.nat(),
    loss: finite, lr: finite, gradNorm: finite, layers: fc.array(layer, { maxLength: 3 }),
    params: fc.array(finite, { maxLength: 3 }), rank: fc.nat(), valLoss: finite,
  },
  { requiredKeys: ['type', 'run', 'step', 'epoch', 'loss', 'lr', 'gradNorm', 'layers'] },
);

/** Replaces one value somewhere in the object (possibly nested) by junk, or adds an unknown key. */
function mutate(v: unknown, path: number[], value: unknown, addKey: boolean): unknown {
  const copy: unknown = structuredClone(v);
  let node: unknown = copy;
  for (const p of path) {
    if (typeof node !== 'object' || node === null) break;
    const keys = Object.keys(node);
    if (!keys.length) break;
    const k = keys[p % keys.length]!;
    const child = (node as Record<string, unknown>)[k];
    if (typeof child !== 'object' || child === null) {
      (node as Record<string, unknown>)[addKey ? `${k}_extra` : k] = value;
      return copy;
    }
    node = child;
  }
  if (typeof node === 'object' && node !== null) (node as Record<string, unknown>)[addKey ? 'extra' : 'type'] = value;
  return copy;
}

test('the fast path accepts only step events zod accepts, and zod returns them unchanged', () => {
  let fastAccepted = 0;
  fc.assert(
    fc.property(step, fc.array(fc.nat(), { maxLength: 4 }), junk, fc.boolean(), fc.boolean(), (s, path, value, addKey, doMutate) => {
      const v = doMutate ? mutate(s, path, value, addKey) : s;
      if (!isPlainStep(v)) return;
      fastAccepted++;
      const r = eventSchema.safeParse(v);
      assert.ok(r.success, `zod rejects what the fast path accepted: ${JSON.stringify(v)}`);
      // As JSON values (what postMessage carries): fast-check builds null-prototype objects.
      assert.equal(JSON.stringify(r.data), JSON.stringify(v));
    }),
    { numRuns: 3000 },
  );
  assert.ok(fastAccepted > 500, `the property exercised the fast path (${fastAccepted})`);
});

test('recorded step events take the fast path; wire-form NaN goes through zod', () => {
  const lines = readFileSync(new URL('../fixtures/streams/mlp-4layer.ndjson', import.meta.url), 'utf8').trim().split('\n');
  const steps = lines.map((l) => JSON.parse(l) as { type: string; loss: unknown }).filter((e) => e.type === 'step');
  const slow = steps.filter((e) => !isPlainStep(e));
  assert.equal(slow.length, 1);
  assert.equal(slow[0]!.loss, 'NaN');
});
