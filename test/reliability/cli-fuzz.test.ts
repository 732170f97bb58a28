// Issue 8 §1 at the command line: `optiscope check` and `optiscope run --steps 3` on mutated and hostile
// configs. Whatever the file holds, the exit code is 0 or 2 (never 1: none of these is a genuine run
// failure), exit 2 comes with a located message (`file:line:col: error:`), no stack trace is printed, and
// the command ends within a generous bound. Most cases run `main` in this process (the same function the
// bundle calls); a smaller set runs the CLI as real child processes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { parseEvent } from '../../src/engine/protocol';
import { cliChild, cliInProcess, figures, lines, ROOT, STACK_TRACE, tempDir, type CliResult } from './helpers';

const SOURCES = [
  ...readdirSync(join(ROOT, 'examples')).filter((f) => /\.optiscope\.(ya?ml|json)$/.test(f)).map((f) => join(ROOT, 'examples', f)),
  ...readdirSync(join(ROOT, 'test', 'fixtures', 'configs')).filter((f) => /\.optiscope\.(ya?ml|json)$/.test(f)).map((f) => join(ROOT, 'test', 'fixtures', 'configs', f)),
].map((p) => ({ name: p.split('/').pop()!, text: readFileSync(p, 'utf8') }));

const DIR = tempDir('optiscope-clifuzz-');
// Data files a config may name (relative to it), so mutated csv configs can also succeed.
mkdirSync(join(DIR, 'data'), { recursive: true });
writeFileSync(join(DIR, 'data', 'train.csv'), 'x,y,label\n0,0,0\n1,1,1\n0,1,1\n1,0,0\n');

let tried = 0;
let childCases = 0;
after(() => {
  console.log(`cli fuzz: ${tried} bad inputs tried (${childCases} as child processes)`);
});

const ERROR_LINE = /:\d+:\d+: error: /;
const BOUND_MS = 60_000;

/** The contract's outcome for a hostile input. */
function holds(r: CliResult, what: string, elapsedMs: number): void {
  const all = r.stdout + '\n' + r.stderr;
  assert.ok(r.code === 0 || r.code === 2, `${what}: exit ${r.code}\n${all.slice(0, 2000)}`);
  if (r.code === 2) assert.match(all, ERROR_LINE, `${what}: exit 2 without a located message\n${all.slice(0, 2000)}`);
  assert.doesNotMatch(all, STACK_TRACE, `${what}: a stack trace reached the user\n${all.slice(0, 2000)}`);
  assert.doesNotMatch(all, /This is a bug in Optiscope|please report this/, `${what}: an internal error\n${all.slice(0, 2000)}`);
  assert.ok(elapsedMs < BOUND_MS, `${what}: took ${elapsedMs} ms`);
}

async function checkAndRun(file: string, label: string, opts: { run?: boolean } = {}): Promise<void> {
  tried++;
  let t0 = Date.now();
  const c = await cliInProcess(['check', file]);
  holds(c, `check ${label}`, Date.now() - t0);
  for (const l of lines(c.stdout)) assert.match(l, /^.+:\d+:\d+: (error|warning|info): .+ \[[a-z0-9-]+\]$/, `check ${label}: line not in the contract format`);
  if (opts.run === false) return;
  t0 = Date.now();
  const r = await cliInProcess(['run', file, '--steps', '3', '--format', 'ndjson']);
  holds(r, `run ${label}`, Date.now() - t0);
  // A valid config runs; an invalid one does not: run and check agree on validity.
  assert.equal(r.code === 2, c.code === 2, `run ${label} exit ${r.code} but check exit ${c.code}\n${r.stderr.slice(0, 1000)}\n${c.stdout.slice(0, 1000)}`);
  if (r.code === 0) {
    const evs = lines(r.stdout);
    for (const l of evs) assert.ok(parseEvent(l).ok, `run ${label}: invalid event on stdout: ${l.slice(0, 200)}`);
    assert.ok(evs.length >= 2, `run ${label}: a run that happened emits start and end`);
  }
}

// ---------------------------------------------------------------------------------------------
// Structural mutations of parsed configs: a leaf or subtree replaced by a hostile value, keys dropped,
// renamed or added, then written as block YAML, flow YAML or JSON.

const HOSTILE: unknown[] = [
  NaN, Infinity, -Infinity, 1e308, -1e308, 1e-320, -0, 0, -1, 2 ** 53 + 2, 4097, 1e9, 0.5, '', ' ', 'NaN', '1e309', '.inf', null, true, false,
  [], {}, [1, 2, 3], [[[]]], { name: 'adam' }, 'x'.repeat(5000), '\u0000', '\u202e', '../../etc/passwd', '$(touch pwned)', 'adamm', 'full',
  'csv', { dataset: 'csv', path: 'data/train.csv', target: 'label' }, { dataset: 'csv', path: '/nonexistent.csv' },
];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) paths((v as Record<string, unknown>)[k], [...prefix, k], out);
  return out;
}

function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy: unknown = Array.isArray(root) ? [...root] : { ...(root as object) };
  const [k, ...rest] = path;
  (copy as Record<string | number, unknown>)[k] = setAt((root as Record<string | number, unknown>)[k], rest, value);
  return copy;
}

function deleteAt(root: unknown, path: (string | number)[]): unknown {
  if (path.length === 0) return root;
  if (path.length === 1) {
    if (Array.isArray(root)) return root.filter((_, i) => i !== path[0]);
    const copy = { ...(root as Record<string, unknown>) };
    delete copy[path[0] as string];
    return copy;
  }
  const [k, ...rest] = path;
  const copy: unknown = Array.isArray(root) ? [...root] : { ...(root as object) };
  (copy as Record<string | number, unknown>)[k] = deleteAt((root as Record<string | number, unknown>)[k], rest);
  return copy;
}

const op = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(...HOSTILE) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.oneof(fc.double(), fc.integer(), fc.string({ maxLength: 12 })) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), value: fc.constant(null) }),
  fc.record({ kind: fc.constant('add' as const), at: fc.nat(), value: fc.constantFrom<unknown>('zzz', 'lr', 'race', 'steps', 'units', '__proto__', 'constructor') }),
  fc.record({ kind: fc.constant('nest' as const), at: fc.nat(), value: fc.integer({ min: 1, max: 200 }) }),
);

function applyOps(doc: unknown, ops: { kind: string; at: number; value: unknown }[]): unknown {
  let d = doc;
  for (const o of ops) {
    const ps = paths(d);
    const p = ps[o.at % ps.length];
    const cur = p.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)?.[k], d);
    if (o.kind === 'set') d = setAt(d, p, o.value);
    else if (o.kind === 'delete') d = deleteAt(d, p);
    else if (o.kind === 'add' && cur && typeof cur === 'object' && !Array.isArray(cur)) {
      const key = o.value as string;
      const copy = { ...(cur as Record<string, unknown>) };
      Object.defineProperty(copy, key, { value: 1e6, enumerable: true, writable: true, configurable: true });
      d = setAt(d, p, copy);
    } else if (o.kind === 'nest') {
      let v: unknown = cur;
      for (let i = 0; i < (o.value as number); i++) v = i % 2 ? [v] : { a: v };
      d = setAt(d, p, v);
    }
  }
  return d;
}

function serialise(doc: unknown, style: 'block' | 'flow' | 'json'): string {
  if (style === 'json') return JSON.stringify(doc) ?? 'null';
  return stringifyYaml(doc, { collectionStyle: style === 'flow' ? 'flow' : 'block', aliasDuplicateObjects: false });
}

const parsedSources = SOURCES.map((s) => ({ ...s, doc: parseYaml(s.text) as Json }));

test('check and run --steps 3 on structurally mutated configs (in-process)', async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...parsedSources), fc.array(op, { minLength: 1, maxLength: 4 }), fc.constantFrom('block', 'flow', 'json') as fc.Arbitrary<'block' | 'flow' | 'json'>,
      async (src, ops, style) => {
        const text = serialise(applyOps(src.doc, ops), style);
        const file = join(DIR, `m${n++ % 50}.optiscope.${style === 'json' ? 'json' : 'yaml'}`);
        writeFileSync(file, text);
        await checkAndRun(file, `${src.name} ${style} ${JSON.stringify(ops).slice(0, 300)}`);
      }),
    { numRuns: 160, seed: 801, endOnFailure: true },
  );
});

// ---------------------------------------------------------------------------------------------
// Text-level mutations: hostile tokens spliced anywhere (syntax breaks, NaN and infinities, tags, anchors).

const TOKENS = ['.nan', '.inf', '-.inf', 'NaN', '1e309', '-1e309', '9'.repeat(400), '"', "'", '{', '}', '[', ']', ':', '- ', '&a ', '*a', '*b',
  '!!binary ', '!!python/object:os.system ', '!custom ', '<<: *a\n', '\t', '\n', '\0', '\uFEFF', '\u{1F600}', '%YAML 1.1\n', '---\n', '...\n',
  '? ', '|\n', '>\n', '`', '$(touch pwned)', 'steps: 1e12\n', 'units: 4096\n', 'samples: 1e9\n', 'batch_size: 0\n'];

const textOp = fc.record({ at: fc.nat(), del: fc.nat({ max: 10 }), tok: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 6 })) });

test('check and run --steps 3 on textually mutated configs (in-process)', async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...SOURCES), fc.array(textOp, { minLength: 1, maxLength: 5 }), async (src, ops) => {
      let t = src.text;
      for (const o of ops) {
        const at = o.at % (t.length + 1);
        t = t.slice(0, at) + o.tok + t.slice(at + o.del);
      }
      const file = join(DIR, `t${n++ % 50}-${src.name}`);
      writeFileSync(file, t);
      await checkAndRun(file, `${src.name} ${JSON.stringify(ops).slice(0, 300)}`);
    }),
    { numRuns: 160, seed: 802, endOnFailure: true },
  );
});

// ---------------------------------------------------------------------------------------------
// Hostile files, each named.

function aliasBomb(width: number, levels: number): string {
  let t = `l0: &l0 [${Array(width).fill('"lol"').join(', ')}]\n`;
  for (let i = 1; i < levels; i++) t += `l${i}: &l${i} [${Array(width).fill(`*l${i - 1}`).join(', ')}]\n`;
  return t + 'problem: { function: saddle, start: [1, 1] }\ntraining: { optimizer: { name: sgd, lr: 0.1 }, steps: 3 }\n';
}

const VALID = 'problem: { function: saddle, start: [1, 0.001] }\ntraining: { optimizer: { name: sgd, lr: 0.1 }, steps: 10 }\n';

export const HOSTILE_FILES: { name: string; content: string | Buffer }[] = [
  { name: 'empty.optiscope.yaml', content: '' },
  { name: 'empty.optiscope.json', content: '' },
  { name: 'whitespace.optiscope.yaml', content: '   \n\t\n' },
  { name: 'bom.optiscope.yaml', content: '\uFEFF' + VALID },
  { name: 'binary.optiscope.yaml', content: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)) },
  { name: 'binary-nonul.optiscope.json', content: Buffer.from(Array.from({ length: 4096 }, (_, i) => 1 + ((i * 104729) % 255))) },
  { name: 'utf16.optiscope.yaml', content: Buffer.from('\uFEFF' + VALID, 'utf16le') },
  { name: 'ten-mb.optiscope.yaml', content: VALID + '# padding\n'.repeat(1_050_000) },
  { name: 'just-under-limit.optiscope.yaml', content: VALID + '#'.repeat(1024 * 1024 - VALID.length - 1) + '\n' },
  { name: 'long-line.optiscope.yaml', content: 'seed: ' + '9'.repeat(1_000_000) + '\n' + VALID },
  { name: 'long-string.optiscope.yaml', content: 'problem: { function: "' + 'x'.repeat(200_000) + '", start: [1, 1] }\ntraining: { optimizer: { name: sgd, lr: 0.1 }, steps: 3 }\n' },
  { name: 'deep-flow.optiscope.yaml', content: 'a: ' + '['.repeat(100_000) + ']'.repeat(100_000) + '\n' },
  { name: 'deep-map.optiscope.yaml', content: 'a: ' + '{b: '.repeat(5000) + '1' + '}'.repeat(5000) + '\n' },
  { name: 'deep.optiscope.json', content: '{"a":' + '['.repeat(200_000) + ']'.repeat(200_000) + '}' },
  { name: 'deep-block.optiscope.yaml', content: Array.from({ length: 2000 }, (_, i) => ' '.repeat(i) + 'k:').join('\n') + '\n' },
  { name: 'alias-bomb.optiscope.yaml', content: aliasBomb(10, 9) },
  { name: 'alias-bomb-wide.optiscope.yaml', content: aliasBomb(300, 3) },
  { name: 'recursive-alias.optiscope.yaml', content: 'a: &a { b: *a }\n' + VALID },
  { name: 'recursive-alias-list.optiscope.yaml', content: 'x: &x [*x, *x]\n' + VALID },
  { name: 'undefined-alias.optiscope.yaml', content: 'problem: *nowhere\n' },
  { name: 'merge-self.optiscope.yaml', content: 'problem: &p\n  <<: *p\n  function: saddle\n' },
  { name: 'python-tag.optiscope.yaml', content: 'problem: !!python/object/apply:os.system ["touch pwned"]\n' },
  { name: 'js-tag.optiscope.yaml', content: 'problem: { function: !!js/function "function(){}", start: [1,1] }\ntraining: { optimizer: { name: sgd, lr: 0.1 } }\n' },
  { name: 'custom-tags.optiscope.yaml', content: '!doc\nproblem: !p { function: !f saddle, start: !!set {1, 2} }\ntraining: !!binary aGVsbG8=\n' },
  { name: 'many-docs.optiscope.yaml', content: (VALID + '---\n').repeat(500) },
  { name: 'nan-everywhere.optiscope.yaml', content: 'seed: .nan\nproblem: { function: quadratic, a: .inf, b: -.inf, start: [.nan, 1e309] }\ntraining: { optimizer: { name: adam, lr: .nan, beta1: .inf, eps: -.inf }, steps: .nan }\n' },
  { name: 'huge-numbers.optiscope.json', content: '{"seed": 1e308, "model": {"layers": [{"units": 1e308}, {"units": 4096}, {"units": 4096}, {"units": 4096}], "loss": "mse"}, "data": {"dataset": "spirals", "samples": 1e300}, "training": {"optimizer": {"name": "sgd", "lr": 1e-320}, "batch_size": 1e20, "steps": 9007199254740993}}' },
  { name: 'proto.optiscope.json', content: '{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}, "problem": {"function": "saddle", "start": [1, 1], "__proto__": {"x": 1}}, "training": {"optimizer": {"name": "sgd", "lr": 0.1}}}' },
  { name: 'duplicate-keys.optiscope.yaml', content: 'training: 1\ntraining: { optimizer: { name: sgd } }\nproblem: { function: saddle, function: rosenbrock }\n' },
  { name: 'csv-traversal.optiscope.yaml', content: 'model: { layers: [{ units: 1 }], loss: mse }\ndata: { dataset: csv, path: ../../../../../../etc/passwd, target: root }\ntraining: { optimizer: { name: sgd, lr: 0.1 }, steps: 3 }\n' },
  { name: 'csv-is-dir.optiscope.yaml', content: 'model: { layers: [{ units: 1 }], loss: mse }\ndata: { dataset: csv, path: data, target: y }\ntraining: { optimizer: { name: sgd, lr: 0.1 }, steps: 3 }\n' },
  { name: 'csv-dev.optiscope.yaml', content: 'model: { layers: [{ units: 1 }], loss: mse }\ndata: { dataset: csv, path: /dev/zero, target: y }\ntraining: { optimizer: { name: sgd, lr: 0.1 }, steps: 3 }\n' },
  { name: 'no-extension', content: VALID },
  { name: 'array-root.optiscope.json', content: '[1, 2, 3]' },
  { name: 'scalar-root.optiscope.yaml', content: '42\n' },
  { name: 'crlf.optiscope.yaml', content: VALID.replace(/\n/g, '\r\n') },
  { name: 'lone-cr.optiscope.yaml', content: VALID.replace(/\n/g, '\r') },
  { name: 'lone-surrogates.optiscope.yaml', content: 'problem: { function: "\ud800\udc00\ud800", start: [1, 1] }\n' },
];

test('hostile files: empty, binary, 10 MB, deep nesting, alias bombs, recursive aliases, tags, NaN, huge numbers (in-process)', async () => {
  const dir = join(DIR, 'hostile');
  mkdirSync(dir, { recursive: true });
  mkdirSync(join(dir, 'data'), { recursive: true });
  for (const h of HOSTILE_FILES) {
    const file = join(dir, h.name);
    writeFileSync(file, h.content);
    await checkAndRun(file, h.name);
  }
  // Data that is a FIFO (reading it would wait forever): refused without reading.
  if (spawnSync('mkfifo', [join(dir, 'data', 'fifo.csv')]).status === 0) {
    writeFileSync(join(dir, 'csv-fifo.optiscope.yaml'), 'model: { layers: [{ units: 1 }], loss: mse }\ndata: { dataset: csv, path: data/fifo.csv, target: y }\ntraining: { optimizer: { name: sgd, lr: 0.1 }, steps: 3 }\n');
    await checkAndRun(join(dir, 'csv-fifo.optiscope.yaml'), 'csv-fifo');
  }
    // A config that is a directory, a FIFO-like device, a missing file: exit 2, located.
  for (const special of [dir, '/dev/null', join(dir, 'missing.optiscope.yaml')]) await checkAndRun(special, special.split('/').pop()!);
  // The nasty ones must be refused with the limit named (never expanded or loaded).
  const refused = async (name: string, re: RegExp) => {
    const r = await cliInProcess(['check', join(dir, name)]);
    assert.equal(r.code, 2, name);
    assert.match(r.stdout, re, name);
  };
  await refused('ten-mb.optiscope.yaml', /at most 1 MiB/);
  await refused('alias-bomb.optiscope.yaml', /\[limit\]/);
  await refused('deep.optiscope.json', /\[limit\]|nest/);
  assert.equal(readdirSync(dir).includes('pwned') || readdirSync(process.cwd()).includes('pwned'), false, 'a tag ran code');
});

test('the CLI as real child processes on hostile files: exit 0 or 2, located, no stack trace, bounded', async () => {
  const dir = join(DIR, 'child');
  mkdirSync(dir, { recursive: true });
  const picks = ['empty.optiscope.yaml', 'binary.optiscope.yaml', 'ten-mb.optiscope.yaml', 'deep.optiscope.json', 'alias-bomb.optiscope.yaml',
    'recursive-alias.optiscope.yaml', 'python-tag.optiscope.yaml', 'nan-everywhere.optiscope.yaml', 'huge-numbers.optiscope.json', 'proto.optiscope.json'];
  // [label, argv, whether an exit 2 must name file:line:col (usage errors name the option instead)]
  const cases: [string, string[], boolean][] = [];
  for (const p of picks) {
    const h = HOSTILE_FILES.find((x) => x.name === p)!;
    writeFileSync(join(dir, p), h.content);
    cases.push([`check ${p}`, ['check', p], true], [`run ${p}`, ['run', p, '--steps', '3', '--format', 'ndjson'], true]);
  }
  copyFileSync(join(ROOT, 'examples', 'lr-too-high.optiscope.yaml'), join(dir, 'ok.optiscope.yaml'));
  cases.push(
    ['bad --steps', ['run', 'ok.optiscope.yaml', '--steps', 'NaN'], false],
    ['negative --steps', ['run', 'ok.optiscope.yaml', '--steps=-1'], false],
    ['huge --steps', ['run', 'ok.optiscope.yaml', '--steps', '9'.repeat(400)], false],
    ['unknown option', ['run', 'ok.optiscope.yaml', '--$(touch pwned)'], false],
    ['unknown --race', ['run', 'ok.optiscope.yaml', '--race', 'adam,,sgdd'], false],
    ['bad --format', ['check', 'ok.optiscope.yaml', '--format', 'xml'], false],
  );
  // Two at a time: bounded wall time on a two-core machine.
  for (let i = 0; i < cases.length; i += 2) {
    await Promise.all(cases.slice(i, i + 2).map(async ([label, args, located]) => {
      tried++;
      childCases++;
      const t0 = Date.now();
      const r = await cliChild(args, { cwd: dir, timeoutMs: 120_000 });
      assert.equal(r.signal, null, `${label}: killed by ${r.signal}`);
      const all = r.stdout + '\n' + r.stderr;
      assert.ok(r.code === 0 || r.code === 2, `${label}: exit ${r.code}\n${all.slice(0, 2000)}`);
      assert.doesNotMatch(all, STACK_TRACE, `${label}: stack trace`);
      if (r.code === 2) assert.match(all, located ? ERROR_LINE : /optiscope: .*(--|option)/, `${label}: exit 2 without a clear message\n${all.slice(0, 1000)}`);
      assert.ok(Date.now() - t0 < 120_000);
    }));
  }
  assert.equal(readdirSync(dir).includes('pwned'), false);
});

after(() => {
  figures(__filename, 'cli fuzz', { badInputs: tried });
  rmSync(DIR, { recursive: true, force: true }); // the 10 MB and 1 MB files among them
});
