/**
 * F1 → "Optiscope: Run" → Enter must run the active file. VS Code's command palette keeps the commands
 * whose label matches the typed words (prefix, word starts, or a contiguous substring) and, for a user
 * who has not used any of them yet, sorts them by label; Enter runs the first. This test replays that
 * ranking over every palette entry our manifest produces, the commands VS Code generates for our view
 * ("Focus on <view name> View") included, in each context a user runs from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;

interface Manifest {
  contributes: {
    commands: { command: string; title: string; category?: string }[];
    menus: { commandPalette: { command: string; when?: string }[] };
    viewsContainers: { activitybar: { id: string; title: string }[] };
    views: Record<string, { id: string; name: string }[]>;
  };
}
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;

const isSep = (c: string) => /[\s\-_./\\:()[\]{}'"`,;]/.test(c);
const nextWord = (t: string, start: number) => {
  for (let i = start; i < t.length; i++) if (isSep(t[i]) || (i > 0 && isSep(t[i - 1]))) return i;
  return t.length;
};
/** VS Code's matchesWords (base/common/filters.ts): each next character may jump to a later word start. */
function matchesWords(word: string, target: string): boolean {
  const w = word.toLowerCase();
  const t = target.toLowerCase();
  const go = (i: number, j: number): boolean => {
    if (i === w.length) return true;
    if (j === t.length) return false;
    if (w[i] !== t[j]) return false;
    if (go(i + 1, j + 1)) return true;
    for (let k = nextWord(t, j + 1); k < t.length; k = nextWord(t, k + 1)) if (go(i + 1, k)) return true;
    return false;
  };
  for (let j = 0; j < t.length; j = nextWord(t, j + 1)) if (go(0, j)) return true;
  return false;
}
const matches = (query: string, label: string) =>
  label.toLowerCase().startsWith(query.toLowerCase()) || label.toLowerCase().includes(query.toLowerCase()) || matchesWords(query, label);

/** Evaluates the few when-clause shapes our palette entries use, in a context of key → value. */
function when(clause: string | undefined, ctx: { resourceFilename: string; resourceLangId: string; running: boolean }): boolean {
  if (!clause) return true;
  if (clause === 'false') return false;
  if (clause === 'optiscope.running') return ctx.running;
  const m = /^!\(resourceFilename =~ \/(.+)\/ \|\| resourceLangId == (\w+)\)$/.exec(clause);
  if (m) return !(new RegExp(m[1]).test(ctx.resourceFilename) || ctx.resourceLangId === m[2]);
  // A clause this test does not read: assume the entry is listed (the strictest case for Run).
  return true;
}

function paletteLabels(ctx: Parameters<typeof when>[1]): { id: string; label: string }[] {
  const hidden = new Map(manifest.contributes.menus.commandPalette.map((e) => [e.command, e.when]));
  const out = manifest.contributes.commands
    .filter((c) => when(hidden.get(c.command), ctx))
    .map((c) => ({ id: c.command, label: c.category ? `${c.category}: ${c.title}` : c.title }));
  for (const [container, views] of Object.entries(manifest.contributes.views)) {
    const title = manifest.contributes.viewsContainers.activitybar.find((v) => v.id === container)?.title ?? 'View';
    for (const v of views) out.push({ id: `${v.id}.focus`, label: `${title}: Focus on ${v.name} View` });
  }
  return out;
}

for (const ctx of [
  { resourceFilename: 'deep-sigmoid.optiscope.yaml', resourceLangId: 'yaml', running: false },
  { resourceFilename: 'train.py', resourceLangId: 'python', running: false },
  { resourceFilename: 'train.py', resourceLangId: 'python', running: true },
]) {
  test(`"Optiscope: Run" + Enter runs optiscope.run with ${ctx.resourceFilename} active${ctx.running ? ' during a run' : ''}`, () => {
    const query = 'Optiscope: Run';
    const rows = paletteLabels(ctx)
      .filter((c) => matches(query, c.label))
      .sort((a, b) => a.label.localeCompare(b.label));
    assert.equal(rows[0]?.id, 'optiscope.run', `first row: ${rows.map((r) => r.label).join(' | ')}`);
  });
}

test('the matcher is VS Code\'s: "Optiscope: Run" matches a label with a later word "Run…"', () => {
  assert.ok(matchesWords('Optiscope: Run', 'Optiscope: Open Run Log'));
  assert.ok(matchesWords('Optiscope: Run', 'Optiscope: Focus on Runs View'));
  assert.ok(!matchesWords('Optiscope: Run', 'Optiscope: Race Optimizers'));
  assert.ok(!matchesWords('Optiscope: Run', 'Optiscope: Focus on History View'));
});
