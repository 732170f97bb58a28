// Race entries as the picker shows and edits them: `sgd lr=0.5 momentum=0.9`, parsed back to the same
// spec; bad keys and values are refused with the reason; the CLI runs exactly the edited hyperparameters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../../src/engine/config/load';
import { formatRaceEntry, parseRaceEntry } from '../../src/engine/cli/raceEntry';
import { raceFromNames } from '../../src/engine/cli/run';

const root = new URL('../..', import.meta.url).pathname;
const deepSigmoid = loadConfig(path.join(root, 'examples', 'deep-sigmoid.optiscope.yaml'));

test('each entry shows the hyperparameters the race will use: the config’s own optimizer keeps its lr', () => {
  const own = deepSigmoid.training.optimizer;
  const shown = formatRaceEntry(parseRaceEntry(own.name, deepSigmoid));
  assert.match(shown, new RegExp(`^${own.name} lr=${own.lr}( |$)`));
  assert.equal(formatRaceEntry(parseRaceEntry('adam', undefined)), 'adam lr=0.001 beta1=0.9 beta2=0.999 eps=1e-8 weight_decay=0');
  assert.equal(formatRaceEntry(parseRaceEntry('momentum', undefined)).split(' ')[0], 'momentum');
});

test('an edited entry parses back to exactly what it says', () => {
  const spec = parseRaceEntry('adam lr=0.01 beta1=0.8', deepSigmoid);
  assert.equal(spec.lr, 0.01);
  assert.equal(spec.beta1, 0.8);
  assert.deepEqual(parseRaceEntry(formatRaceEntry(spec), deepSigmoid), spec);
  assert.equal(parseRaceEntry('rmsprop centered=true', undefined).centered, true);
});

test('wrong names, keys and values are refused with the reason', () => {
  assert.throws(() => parseRaceEntry('adma', undefined), /unknown optimizer "adma" \(did you mean "adam"\?\)/);
  assert.throws(() => parseRaceEntry('sgd beta1=0.9', undefined), /sgd has no hyperparameter "beta1"/);
  assert.throws(() => parseRaceEntry('sgd lr=0', undefined), /lr=0 is out of range/);
  assert.throws(() => parseRaceEntry('adam beta1=1', undefined), /beta1=1 is out of range/);
  assert.throws(() => parseRaceEntry('sgd lr', undefined), /"lr" is not key=value/);
});

test('--race runs the edited hyperparameters', () => {
  const race = raceFromNames(['sgd lr=0.2', 'adam lr=0.003 beta2=0.99'], deepSigmoid);
  assert.deepEqual(race.map((s) => [s.name, s.lr]), [['sgd', 0.2], ['adam', 0.003]]);
  assert.equal(race[1].beta2, 0.99);
  assert.throws(() => raceFromNames(['sgd lr=-1'], deepSigmoid), /--race: lr=-1 is out of range/);
  assert.ok(fs.existsSync(path.join(root, 'examples', 'deep-sigmoid.optiscope.yaml')));
});
