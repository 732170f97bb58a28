import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configFormat, isConfigFileName, isPythonFileName } from '../../src/extension/language/configFiles';

test('configs are recognised by their double extension only', () => {
  for (const f of ['a.optiscope.yaml', 'dir/b.optiscope.yml', 'C:\\x\\c.optiscope.json', 'D.OPTISCOPE.YAML']) assert.ok(isConfigFileName(f), f);
  for (const f of ['a.yaml', 'optiscope.yaml', 'a.optiscope.yaml.bak', 'a.optiscope.toml', 'a-optiscope.json']) assert.ok(!isConfigFileName(f), f);
  assert.equal(configFormat('x.optiscope.json'), 'json');
  assert.equal(configFormat('x.optiscope.yml'), 'yaml');
  assert.equal(configFormat('x.json'), undefined);
  assert.ok(isPythonFileName('train.py'));
  assert.ok(!isPythonFileName('train.pyc'));
});
