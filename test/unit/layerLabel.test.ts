// A layer's display name: path, then the module type and sizes the bridge reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layerLabel } from '../../src/engine/layerLabel';
import { parseEvent } from '../../src/engine/protocol';

test('layers are named by path and type', () => {
  assert.equal(layerLabel('net.0', { type: 'Linear', in: 10, out: 32 }), 'net.0 (Linear 10→32)');
  assert.equal(layerLabel('norm', { type: 'LayerNorm', in: 64, out: 64 }), 'norm (LayerNorm 64)');
  assert.equal(layerLabel('scale', { type: 'Scale' }), 'scale (Scale)');
  assert.equal(layerLabel('dense0', undefined), 'dense0');
});

test('the start event carries the module a layer belongs to', () => {
  const line = JSON.stringify({ type: 'start', run: 'r', protocol: 1, config: {}, parameters: 353, layers: [{ name: '0', parameters: 352, module: { type: 'Linear', in: 10, out: 32 } }, { name: 'p', parameters: 1 }] });
  const r = parseEvent(line);
  assert.ok(r.ok && r.event.type === 'start');
  assert.deepEqual(r.event.layers[0].module, { type: 'Linear', in: 10, out: 32 });
  assert.equal(parseEvent(line.replace('"type":"Linear"', '"type":""')).ok, false, 'an empty type is invalid');
});
