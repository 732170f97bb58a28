// Issue 8 §1: bad input, fuzzed. Whatever the text, parsing + validation never throws, never reports an
// internal error, and every finding is located inside the text; a config comes back only without errors.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseConfigText } from '../../src/engine/config/parse';
import { validateConfig } from '../../src/engine/config/validate';
import { hoverAt } from '../../src/engine/config/hover';
import { completionsAt } from '../../src/engine/config/complete';
import { lineCol } from '../../src/engine/config/position';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'configs');
const fixtures = readdirSync(FIX).filter((f) => /\.optiscope\.(ya?ml|json)$/.test(f)).map((f) => ({ file: f, text: readFileSync(join(FIX, f), 'utf8') }));
let tried = 0;
after(() => console.log(`config fuzz: ${tried} bad inputs tried`));

/** The invariant every input must satisfy. Generous time bound: a hang or exponential blow-up, not speed. */
function holds(text: string, file: string): void {
  tried++;
  const t0 = Date.now();
  const parsed = parseConfigText(text, file);
  const r = validateConfig(parsed, { fileExists: () => false });
  assert.ok(Date.now() - t0 < 10_000, 'took more than 10 s');
  for (const d of r.diagnostics) {
    assert.notEqual(d.code, 'internal', d.message);
    assert.ok(d.offset >= 0 && d.offset + d.length <= text.length, `range outside the text: ${d.offset}+${d.length}`);
    if (parsed.lineStarts.length > 1 || text.length < 1024 * 1024) {
      const lc = lineCol(parsed.lineStarts, d.offset);
      assert.deepEqual([d.line, d.col], [lc.line, lc.col]);
    }
    assert.ok(d.message.length > 0 && d.message.length < 2000);
  }
  const errors = r.diagnostics.some((d) => d.severity === 'error');
  assert.equal(!!r.config, !errors, 'a config exactly when there is no error');
}

const NASTY = [
  '.nan', '.inf', '-.inf', 'NaN', 'Infinity', '1e309', '-1e309', '1e-400', '0', '-0', '-1', '1.5', '9007199254740993', '"', "'", '{', '}',
  '[', ']', ',', ':', ': ', '- ', '#', '&a', '*a', '!!binary', '!foo', '<<: *a', '\t', '\n', '\r\n', '\0', '\uFEFF', '~', 'null', 'true',
  'yes', '"0.1"', 'x'.repeat(300), '\u{1F600}', '\\', '%YAML 1.1', '---', '...', '? ', '|', '>', '@', '`', 'adamm', 'lr', 'beta2', 'units',
];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), len: fc.nat({ max: 12 }), tok: fc.constantFrom(...NASTY) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), len: fc.constant(0), tok: fc.string({ maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.nat({ max: 30 }), tok: fc.constant('') }),
  fc.record({ kind: fc.constant('dupline' as const), at: fc.nat(), len: fc.constant(0), tok: fc.constant('') }),
);

function mutate(text: string, ms: { kind: string; at: number; len: number; tok: string }[]): string {
  let t = text;
  for (const m of ms) {
    const at = t.length ? m.at % (t.length + 1) : 0;
    if (m.kind === 'dupline') {
      const s = t.lastIndexOf('\n', at - 1) + 1;
      const e = t.indexOf('\n', at);
      const line = t.slice(s, e < 0 ? t.length : e + 1);
      t = t.slice(0, s) + line + line + t.slice(s + line.length);
    } else t = t.slice(0, at) + m.tok + t.slice(at + m.len);
  }
  return t;
}

test('mutated valid configs', () => {
  fc.assert(
    fc.property(fc.constantFrom(...fixtures), fc.array(mutation, { minLength: 1, maxLength: 6 }), (f, ms) => holds(mutate(f.text, ms), f.file)),
    { numRuns: 1000, seed: 8 },
  );
});

const scalar = fc.oneof(
  fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 20 }),
  fc.constantFrom('adam', 'sgd', 'relu', 'he', 'iris', 'csv', 'full', 'rosenbrock', 'cosine', 'cross-entropy'),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, 1e308, -0, Number.MAX_SAFE_INTEGER + 2),
);
const KEYS = ['seed', 'problem', 'model', 'data', 'training', 'monitors', 'race', 'function', 'start', 'layers', 'units', 'activation', 'init',
  'loss', 'dataset', 'samples', 'path', 'target', 'optimizer', 'name', 'lr', 'beta1', 'momentum', 'batch_size', 'steps', 'epochs', 'schedule',
  'hessian', 'every', 'k', 'clip', 'norm', 'early_stopping', 'validation_split'];
const tree = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('map'), tie('list')),
  map: fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 6 })), tie('value'), { maxKeys: 6 }),
  list: fc.array(tie('value'), { maxLength: 4 }),
})).value;

test('random config-shaped documents as YAML (block and flow) and JSON', () => {
  fc.assert(
    fc.property(tree, fc.constantFrom('yaml', 'flow', 'json'), (v, style) => {
      const text = style === 'json' ? JSON.stringify(v) ?? 'null' : stringify(v, { collectionStyle: style === 'flow' ? 'flow' : 'block' });
      holds(text, style === 'json' ? 'r.optiscope.json' : 'r.optiscope.yaml');
    }),
    { numRuns: 1000, seed: 9 },
  );
});

test('arbitrary text and bytes, with either extension', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1'))),
      fc.constantFrom('x.optiscope.yaml', 'x.optiscope.json', 'x.txt'), (text, file) => holds(text, file)),
    { numRuns: 800, seed: 10 },
  );
});

test('hover and completion never throw on mutated text', () => {
  fc.assert(
    fc.property(fc.constantFrom(...fixtures), fc.array(mutation, { maxLength: 3 }), fc.nat(), (f, ms, at) => {
      tried++;
      const t = mutate(f.text, ms);
      const o = t.length ? at % (t.length + 1) : 0;
      hoverAt(t, f.file, o);
      assert.ok(Array.isArray(completionsAt(t, f.file, o)));
    }),
    { numRuns: 500, seed: 11 },
  );
});

test('hostile documents: alias bombs, recursive aliases, deep nesting, huge files, unknown tags', () => {
  for (let width = 2; width <= 12; width += 2) {
    for (let levels = 2; levels <= 9; levels++) {
      let t = `l0: &l0 [${Array(width).fill('lol').join(', ')}]\n`;
      for (let i = 1; i < levels; i++) t += `l${i}: &l${i} [${Array(width).fill(`*l${i - 1}`).join(', ')}]\n`;
      holds(t, 'bomb.optiscope.yaml');
      const d = validateConfig(parseConfigText(t, 'b.yaml')).diagnostics;
      if (width ** levels > 50_000) assert.ok(d.some((x) => x.code === 'limit'), `bomb ${width}^${levels} not stopped`);
    }
  }
  holds('a: &a { b: *a }\n', 'r.optiscope.yaml');
  holds('a: &a [ *a, *a ]\nb: *a\n', 'r.optiscope.yaml');
  holds('problem: &p\n  function: saddle\n  start: *p\n', 'r.optiscope.yaml');
  for (const n of [10, 63, 64, 65, 200, 1000, 100_000]) {
    holds('a: ' + '['.repeat(n) + ']'.repeat(n) + '\n', 'd.optiscope.yaml');
    holds('a: ' + '{b: '.repeat(n) + '1' + '}'.repeat(n) + '\n', 'd.optiscope.yaml');
    holds('{"a":' + '['.repeat(n) + ']'.repeat(n) + '}', 'd.optiscope.json');
    if (n <= 1000) {
      let block = '';
      for (let i = 0; i < n; i++) block += ' '.repeat(i) + 'k:\n';
      holds(block, 'd.optiscope.yaml');
    }
  }
  const tenMb = 'problem: { function: saddle }\n' + '# padding\n'.repeat(1_000_000);
  holds(tenMb, 'big.optiscope.yaml');
  assert.equal(validateConfig(parseConfigText(tenMb, 'big.yaml')).diagnostics[0].code, 'limit');
  holds('seed: ' + '9'.repeat(900_000) + '\n', 'long.optiscope.yaml');
  holds('{"seed": ' + '9'.repeat(900_000) + '}', 'long.optiscope.json');
  for (const tag of ['!!python/object:os.system', '!!js/function', '!custom', '!!binary', '!!set', '!<tag:yaml.org,2002:str>', '!!timestamp']) {
    holds(`problem: { function: ${tag} saddle }\n`, 't.optiscope.yaml');
  }
});

test('optiscope check on mutated files: exit 0 or 2, every line in the contract format', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { runCheck } = await import('../../src/engine/cli/check');
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-fuzz-'));
  const LINE = /^.+:\d+:\d+: (error|warning|info): .+ \[[a-z-]+\]$/;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...fixtures), fc.array(mutation, { maxLength: 4 }), async (f, ms) => {
      tried++;
      const file = join(dir, f.file);
      writeFileSync(file, mutate(f.text, ms));
      let out = '';
      const code = await runCheck(file, { stdout: (s) => void (out += s), stderr: () => undefined });
      assert.ok(code === 0 || code === 2, `exit ${code}`);
      const lines = out.split('\n').filter(Boolean);
      for (const l of lines) assert.match(l, LINE);
      assert.equal(code === 2, lines.some((l) => l.includes(': error: ')));
    }),
    { numRuns: 300, seed: 12 },
  );
});
