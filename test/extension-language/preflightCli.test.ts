/**
 * The editor's reading of the real `optiscope check --format json`: the engine CLI is run as a child
 * process (as the editor runs it, through runBounded, without a shell), its output parsed and placed.
 * Guards the contract between the CLI's output and the editor's parser.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBounded } from '../../src/extension/language/boundedProcess';
import { createEngineLanguage } from '../../src/extension/language/engineLanguage';
import { LineIndex } from '../../src/extension/language/lineIndex';
import { parsePreflightOutput } from '../../src/extension/language/preflightOutput';
import { preflightCommand } from '../../src/extension/language/preflightCommand';
import { placeFindings } from '../../src/extension/language/preflightPlacement';

const root = new URL('../..', import.meta.url).pathname;
const cliMain = join(root, 'src', 'engine', 'cli-main.ts');

const TEXT = `# lr past the stability edge: lr·λmax = 0.25·10 = 2.5 > 2
problem:
  function: quadratic
  b: 10
  start: [1.0, 1.0]
training:
  optimizer: { name: sgd, lr: 0.25 }
  steps: 20
`;

test('the probe’s prediction from the real CLI lands on the lr value; static findings are not repeated', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-preflight-'));
  try {
    const file = join(dir, 'edge.optiscope.yaml');
    // An ignored key adds a static finding that the CLI also prints: the editor must not show it twice.
    const text = TEXT.replace('lr: 0.25 }', 'lr: 0.25, beta1: 0.9 }');
    writeFileSync(file, text);
    const r = await runBounded(process.execPath, ['--import', 'tsx', cliMain, 'check', file, '--format', 'json'], {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '' },
      timeoutMs: 100_000,
    });
    assert.equal(r.timedOut, false);
    assert.ok(r.code === 0 || r.code === 2, `exit ${r.code}: ${r.stderr}`);
    const findings = parsePreflightOutput(r.stdout);
    assert.ok(findings.length >= 2, r.stdout);
    const analysis = createEngineLanguage().analyze(text, file);
    assert.ok(analysis.diagnostics.some((d) => d.code === 'ignored-key'));
    const placed = placeFindings(findings, analysis.diagnostics, (p) => analysis.locate(p), new LineIndex(text));
    const codes = placed.map((p) => (p.finding.type === 'diagnostic' ? p.finding.diagnostic.code : p.finding.warning.kind));
    assert.deepEqual(codes, ['lr-too-high']);
    const p = placed[0];
    assert.ok(p);
    assert.equal(p.line, 6);
    assert.equal(text.split('\n')[6]?.slice(p.range.start.character, p.range.end.character), '0.25');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the probe command: the host’s executable as Node, the CLI path and the file as separate arguments', () => {
  const c = preflightCommand('/ext/dist/cli.js', '/w/my "odd" config $(x).optiscope.yaml', '/usr/bin/electron', { PATH: '/bin' });
  assert.equal(c.command, '/usr/bin/electron');
  assert.deepEqual(c.args, ['/ext/dist/cli.js', 'check', '/w/my "odd" config $(x).optiscope.yaml', '--stdin', '--format', 'json']);
  assert.equal(c.env.ELECTRON_RUN_AS_NODE, '1');
  assert.equal(c.env.PATH, '/bin');
});

test('the probe reads the editor’s unsaved text from stdin, not the file on disk', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'optiscope-preflight-'));
  try {
    const file = join(dir, 'unsaved.optiscope.yaml');
    writeFileSync(file, TEXT.replace('lr: 0.25 }', 'lr: 0.01 }'));
    const cmd = preflightCommand(cliMain, file);
    const r = await runBounded(process.execPath, ['--import', 'tsx', ...cmd.args], {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '' },
      input: TEXT,
      timeoutMs: 100_000,
    });
    assert.ok(r.code === 0 || r.code === 2, `exit ${r.code}: ${r.stderr}`);
    const findings = parsePreflightOutput(r.stdout);
    const kinds = findings.map((f) => (f.type === 'diagnostic' ? f.diagnostic.code : f.warning.kind));
    // On disk lr is 0.01 (stable); the unsaved text has 0.25, past 2/λmax = 0.2.
    assert.ok(kinds.includes('lr-too-high'), r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
