/**
 * The manifest declares what the language features use: their settings with the same defaults, the
 * check command, and the JSON schema for JSON configs (which must exist and match the config files).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHECK_COMMAND, SETTINGS } from '../../src/extension/language/settings';
import { isConfigFileName } from '../../src/extension/language/configFiles';

const root = new URL('../..', import.meta.url).pathname;

interface Manifest {
  contributes: {
    commands: { command: string; title: string; category?: string }[];
    configuration: { properties: Record<string, { type: string; default: unknown }> } | { properties: Record<string, { type: string; default: unknown }> }[];
    jsonValidation: { fileMatch: string | string[]; url: string }[];
  };
}

const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;

test('every setting the language features read is declared with the same default', () => {
  const config = manifest.contributes.configuration;
  const props = Object.assign({}, ...(Array.isArray(config) ? config : [config]).map((c) => c.properties)) as Record<string, { type: string; default: unknown }>;
  for (const s of Object.values(SETTINGS)) {
    const p = props[s.id];
    assert.ok(p, `${s.id} is declared`);
    assert.equal(p.default, s.default, s.id);
    assert.equal(p.type, typeof s.default, s.id);
  }
});

test('the check command is contributed as "Optiscope: Check Config"', () => {
  const c = manifest.contributes.commands.find((x) => x.command === CHECK_COMMAND);
  assert.ok(c);
  assert.equal(`${c.category ? `${c.category}: ` : ''}${c.title}`, 'Optiscope: Check Config');
});

test('JSON configs are validated against the shipped schema', () => {
  const v = manifest.contributes.jsonValidation.find((x) => [x.fileMatch].flat().includes('*.optiscope.json'));
  assert.ok(v);
  const schema = join(root, v.url);
  assert.ok(existsSync(schema), `${v.url} exists`);
  assert.doesNotThrow(() => JSON.parse(readFileSync(schema, 'utf8')));
  for (const pattern of [v.fileMatch].flat()) assert.ok(isConfigFileName(pattern.replace('*', 'x')), pattern);
});
