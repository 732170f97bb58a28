import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDocsSection, buildJsonSchema, DOCS_BEGIN, DOCS_END } from '../../src/engine/config/jsonschema';
import { OPTIMIZER_NAMES, OPTIMIZERS } from '../../src/engine/optim/catalog';

const root = join(import.meta.dirname, '..', '..');

test('schemas/optiscope.schema.json is generated from the current key descriptions', () => {
  const committed = JSON.parse(readFileSync(join(root, 'schemas', 'optiscope.schema.json'), 'utf8'));
  assert.deepEqual(committed, JSON.parse(JSON.stringify(buildJsonSchema())), 'run: npx tsx scripts/make-schema.ts');
  const opt = committed.properties.training.properties.optimizer;
  const asObject = opt.anyOf[0];
  assert.deepEqual(asObject.properties.name.enum, [...OPTIMIZER_NAMES]);
  assert.equal(asObject.properties.beta2.exclusiveMaximum, 1);
  assert.equal(asObject.properties.lr.exclusiveMinimum, 0);
  assert.equal(asObject.additionalProperties, false);
});

test('docs/config.md carries the generated key and optimizer tables', () => {
  const doc = readFileSync(join(root, 'docs', 'config.md'), 'utf8');
  const section = doc.slice(doc.indexOf(DOCS_BEGIN), doc.indexOf(DOCS_END) + DOCS_END.length);
  assert.equal(section, buildDocsSection(), 'run: npx tsx scripts/make-schema.ts');
  for (const n of OPTIMIZER_NAMES) for (const line of OPTIMIZERS[n].rule) assert.ok(doc.includes(line), `${n}: ${line}`);
  for (const key of ['training.optimizer.beta2', 'model.layers.<n>.init', 'monitors.hessian.every', 'data.validation_split']) {
    assert.ok(doc.includes(`\`${key}\``), key);
  }
});
