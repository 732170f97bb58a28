import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineIndex } from '../../src/extension/language/lineIndex';

test('offsets map to 0-based line and character, round trip', () => {
  const text = 'seed: 1\ntraining:\n  optimizer: { name: adam, lr: 0.1 }\n';
  const idx = new LineIndex(text);
  assert.equal(idx.lineCount, 4);
  const lr = text.indexOf('lr');
  assert.deepEqual(idx.positionAt(lr), { line: 2, character: text.split('\n')[2].indexOf('lr') });
  for (let o = 0; o <= text.length; o++) assert.equal(idx.offsetAt(idx.positionAt(o)), o);
  assert.equal(idx.lineText(2), '  optimizer: { name: adam, lr: 0.1 }');
  assert.equal(idx.lineText(3), '');
});

test('CRLF and lone CR break lines; an offset inside CRLF sits at the end of its line', () => {
  const text = 'a: 1\r\nbb: 2\rccc: 3';
  const idx = new LineIndex(text);
  assert.equal(idx.lineCount, 3);
  assert.deepEqual(idx.positionAt(4), { line: 0, character: 4 }); // on \r
  assert.deepEqual(idx.positionAt(5), { line: 0, character: 4 }); // on \n of the CRLF pair
  assert.deepEqual(idx.positionAt(6), { line: 1, character: 0 });
  assert.deepEqual(idx.positionAt(12), { line: 2, character: 0 });
  assert.equal(idx.lineText(1), 'bb: 2');
  assert.equal(idx.lineText(2), 'ccc: 3');
});

test('out-of-range offsets and positions clamp to the text', () => {
  const idx = new LineIndex('ab\ncd');
  assert.deepEqual(idx.positionAt(-5), { line: 0, character: 0 });
  assert.deepEqual(idx.positionAt(99), { line: 1, character: 2 });
  assert.equal(idx.offsetAt({ line: 0, character: 50 }), 2);
  assert.equal(idx.offsetAt({ line: 9, character: 0 }), 5);
  const r = idx.rangeOf(1, 100);
  assert.deepEqual(r, { start: { line: 0, character: 1 }, end: { line: 1, character: 2 } });
});

test('UTF-16 characters count as VS Code counts them', () => {
  const text = 'name: "β₂ 😀"\nlr: 1';
  const idx = new LineIndex(text);
  const lr = text.indexOf('lr');
  assert.deepEqual(idx.positionAt(lr), { line: 1, character: 0 });
  // The emoji is two UTF-16 units: the closing quote is at character 12, not 11.
  assert.deepEqual(idx.positionAt(text.indexOf('"', 7)), { line: 0, character: 12 });
});

test('lineContentRange skips indentation and trailing blanks', () => {
  const idx = new LineIndex('x:\n    lr: 0.5   \n\n');
  assert.deepEqual(idx.lineContentRange(1), { start: { line: 1, character: 4 }, end: { line: 1, character: 11 } });
  assert.deepEqual(idx.lineContentRange(2), { start: { line: 2, character: 0 }, end: { line: 2, character: 0 } });
});
