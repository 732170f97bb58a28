import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineAnchors, shiftLine, type ContentChange } from '../../src/extension/language/lineAnchors';

/** Applies VS Code-style changes to a text: the reference the anchors must agree with. */
function applyToText(text: string, changes: readonly ContentChange[]): string {
  for (const c of changes) {
    const lines = text.split('\n');
    const off = (p: { line: number; character: number }): number =>
      lines.slice(0, p.line).reduce((s, l) => s + l.length + 1, 0) + p.character;
    text = text.slice(0, off(c.range.start)) + c.text + text.slice(off(c.range.end));
  }
  return text;
}

const at = (line: number, character: number) => ({ line, character });
const change = (sl: number, sc: number, el: number, ec: number, text: string): ContentChange => ({ range: { start: at(sl, sc), end: at(el, ec) }, text });

function track(text: string, line: number, changes: ContentChange[]): number | undefined {
  const anchors = new LineAnchors([{ line, text: text.split('\n')[line], value: 'w' }]);
  anchors.applyChanges(changes);
  const after = applyToText(text, changes).split('\n');
  anchors.settle((l) => after[l]);
  return anchors.all()[0]?.line;
}

const DOC = ['seed: 1', 'training:', '  optimizer:', '    name: adam', '    lr: 3.0', '  steps: 100'].join('\n');

test('an edit above moves the anchor; the warning stays with its line', () => {
  assert.equal(track(DOC, 4, [change(0, 7, 0, 7, '\n# comment')]), 5); // a line inserted above
  assert.equal(track(DOC, 4, [change(0, 0, 1, 0, '')]), 3); // the first line deleted
  assert.equal(track(DOC, 4, [change(1, 0, 1, 0, 'x\ny\n')]), 6); // two lines inserted at a line start
});

test('an edit below or on another line leaves the anchor where it is', () => {
  assert.equal(track(DOC, 4, [change(5, 2, 5, 7, 'epochs')]), 4);
  assert.equal(track(DOC, 4, [change(4, 11, 4, 11, '\n    beta1: 0.9')]), 4); // a new line typed after it
});

test('editing the line itself removes the anchor', () => {
  assert.equal(track(DOC, 4, [change(4, 8, 4, 11, '0.01')]), undefined);
  assert.equal(track(DOC, 4, [change(4, 0, 4, 0, '#')]), undefined);
  assert.equal(track(DOC, 4, [change(3, 4, 5, 0, '')]), undefined); // deleted with the line above
  assert.equal(track(DOC, 4, [change(3, 14, 4, 0, '')]), undefined); // joined to the line above
});

test('an edit that leaves the line reading the same (retyped, or trailing blanks) keeps it', () => {
  assert.equal(track(DOC, 4, [change(4, 8, 4, 11, '3.0')]), 4);
  assert.equal(track(DOC, 4, [change(4, 11, 4, 11, '  ')]), 4);
});

test('several changes of one event are applied in order', () => {
  // Multi-cursor edits come last-first, so each range is valid when applied.
  const changes = [change(5, 0, 5, 0, '  # end\n'), change(0, 0, 0, 0, '# top\n')];
  assert.equal(track(DOC, 4, changes), 5);
});

test('random edits: an anchor that survives always points at a line with its original text', () => {
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  let survivors = 0;
  for (let trial = 0; trial < 300; trial++) {
    let text = DOC;
    const anchors = new LineAnchors(DOC.split('\n').map((t, i) => ({ line: i, text: t, value: i })));
    for (let k = 0; k < 4; k++) {
      const lines = text.split('\n');
      const sl = rnd(lines.length);
      const sc = rnd(lines[sl].length + 1);
      const el = Math.min(lines.length - 1, sl + rnd(2));
      const ec = el === sl ? sc + rnd(lines[el].length - sc + 1) : rnd(lines[el].length + 1);
      const c = change(sl, sc, el, ec, ['', 'x', '\n', 'a\nb', '\n\n'][rnd(5)]);
      anchors.applyChanges([c]);
      text = applyToText(text, [c]);
      const now = text.split('\n');
      anchors.settle((l) => now[l]);
      for (const a of anchors.all()) assert.equal(now[a.line]?.trimEnd(), a.text.trimEnd());
    }
    survivors += anchors.size;
  }
  // Four small edits touch at most a few of six lines: most anchors must have survived them.
  assert.ok(survivors > 300 * 2, `only ${survivors} anchors survived`);
});

test('shiftLine: insertion at the start of the line pushes it down', () => {
  assert.equal(shiftLine(3, change(3, 0, 3, 0, 'a\n')), 4);
  assert.equal(shiftLine(3, change(1, 0, 2, 0, '')), 2);
  assert.equal(shiftLine(3, change(2, 3, 4, 1, '')), undefined);
});
