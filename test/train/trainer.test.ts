import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfigText } from '../../src/engine/config/load';
import { train } from '../../src/engine/train/trainer';
import { encodeEvent, parseEvent, type OptiscopeEvent, type StepEvent } from '../../src/engine/protocol';

const NET = `
seed: 5
model:
  layers:
    - { units: 8, activation: tanh, init: xavier }
    - { units: 2, activation: linear }
  loss: cross-entropy
data: { dataset: moons, samples: 64, noise: 0.1 }
training:
  optimizer: { name: adam, lr: 0.01 }
  batch_size: 16
  steps: 40
race:
  - { name: sgd, lr: 0.1 }
  - { name: adam, lr: 0.01 }
  - { name: adam, lr: 0.001 }
`;

async function stream(text: string, steps?: number): Promise<OptiscopeEvent[]> {
  const events: OptiscopeEvent[] = [];
  await train(resolveConfigText(text, 'mem.optiscope.yaml'), { emit: (e) => events.push(e), steps });
  return events;
}

test('same config and seed give the same stream, byte for byte', async () => {
  const a = (await stream(NET)).map(encodeEvent);
  const b = (await stream(NET)).map(encodeEvent);
  assert.ok(a.length > 100);
  assert.deepEqual(a, b);
  // and a different seed changes it
  const c = (await stream(NET.replace('seed: 5', 'seed: 6'))).map(encodeEvent);
  assert.notDeepEqual(a, c);
});

test('every event the engine emits passes the protocol validator', async () => {
  for (const e of await stream(NET)) {
    const r = parseEvent(encodeEvent(e));
    assert.ok(r.ok, `${e.type}: ${!r.ok ? r.error : ''}`);
  }
});

test('a race moves its runs in lockstep from the same start, init and batch order', async () => {
  const events = await stream(NET);
  const starts = events.filter((e) => e.type === 'start');
  assert.deepEqual(starts.map((s) => s.run), ['sgd', 'adam', 'adam-2']);
  const steps = events.filter((e): e is StepEvent => e.type === 'step');
  // Step 1 of every run computes the loss at the same initial weights on the same first batch.
  const first = steps.filter((s) => s.step === 1);
  assert.equal(first.length, 3);
  assert.equal(first[0].loss, first[1].loss);
  assert.equal(first[1].loss, first[2].loss);
  // Interleaved: the runs alternate step by step.
  assert.deepEqual(steps.slice(0, 6).map((s) => `${s.run}:${s.step}`), ['sgd:1', 'adam:1', 'adam-2:1', 'sgd:2', 'adam:2', 'adam-2:2']);
  // Different optimizers then diverge in loss.
  const last = steps.filter((s) => s.step === 40);
  assert.notEqual(last[0].loss, last[1].loss);
  const ends = events.filter((e) => e.type === 'end');
  assert.equal(ends.length, 3);
  for (const e of ends) assert.equal(e.type === 'end' && e.reason, 'completed');
});

test('step numbering, params for 2-D problems, and the loss falling on a convex quadratic', async () => {
  const events = await stream(`
seed: 1
problem: { function: quadratic, start: [1, 1] }
training: { optimizer: { name: sgd, lr: 0.05 }, steps: 50 }
`);
  const steps = events.filter((e): e is StepEvent => e.type === 'step');
  assert.equal(steps.length, 50);
  assert.equal(steps[0].step, 1);
  // After one update of gradient descent on ½(x² + 10y²): x ← x − lr·x, y ← y − lr·10y.
  assert.ok(steps[0].params);
  assert.ok(Math.abs(steps[0].params![0] - (1 - 0.05)) < 1e-15);
  assert.ok(Math.abs(steps[0].params![1] - (1 - 0.5)) < 1e-15);
  assert.ok(Math.abs(steps[0].gradNorm - Math.hypot(1, 10)) < 1e-12);
  assert.ok(steps[49].loss < steps[0].loss * 1e-2);
});

test('--steps overrides the config and a diverging run ends with reason diverged', async () => {
  const events = await stream(`
seed: 1
problem: { function: quadratic, start: [1, 1] }
training: { optimizer: { name: sgd, lr: 0.5 }, steps: 100000 }
`, 2000);
  const end = events.at(-1);
  assert.equal(end?.type, 'end');
  if (end?.type === 'end') {
    assert.equal(end.reason, 'diverged');
    assert.ok(end.steps < 2000);
  }
});

test('a race from --race points fixes for the file\'s own optimizer at training.optimizer, not at a race entry', async () => {
  const { raceFromNames } = await import('../../src/engine/cli/run');
  const config = resolveConfigText(`
seed: 1
problem: { function: quadratic, start: [1, 1] }
training: { optimizer: { name: sgd, lr: 0.25 }, steps: 60 }
`, 'mem.optiscope.yaml');
  config.race = raceFromNames(['sgd', 'adam'], config);
  config.raceFromCli = true;
  const events: OptiscopeEvent[] = [];
  await train(config, { emit: (e) => events.push(e) });
  const fixes = events.filter((e) => e.type === 'warning' && e.run === 'sgd' && e.fix).map((e) => e.type === 'warning' ? e.fix!.path : '');
  assert.ok(fixes.length > 0, 'lr 0.25 on ½(x² + 10y²) is past 2/λmax: a fix is expected');
  for (const p of fixes) assert.doesNotMatch(p, /^race\./);
  assert.ok(fixes.includes('training.optimizer.lr'));
});

test('early stopping checks the validation loss once per epoch by default, so patience counts epochs', async () => {
  const events = await stream(`
seed: 3
model:
  layers:
    - { units: 16, activation: tanh, init: xavier }
    - { units: 2, activation: linear }
  loss: cross-entropy
data: { dataset: moons, samples: 200, noise: 0.3, validation_split: 0.2 }
training:
  optimizer: { name: adam, lr: 0.05 }
  batch_size: 32
  epochs: 200
  early_stopping: { patience: 3 }
`);
  const perEpoch = Math.ceil(160 / 32);
  const checked = events.filter((e): e is StepEvent => e.type === 'step' && e.valLoss !== undefined).map((s) => s.step);
  assert.ok(checked.length >= 4);
  for (const s of checked) assert.equal(s % perEpoch, 0, `validation at step ${s} is not an epoch end`);
  const end = events.at(-1);
  assert.ok(end?.type === 'end' && end.reason === 'early-stopped', 'a noisy set overfits long before 200 epochs');
  // At least patience + 1 epochs ran: the best one and three without improvement.
  assert.ok(end.type === 'end' && end.steps >= 4 * perEpoch);
});

test('the gradient norm from the statistics pass has the bits of the trainer\'s own pass, and a diverging run still ends', async () => {
  // monitors.every: 1 takes the norm and the parameters' finiteness from the per-layer statistics pass;
  // every: 1000 from the trainer's pass (statistics only at step 1): the scalars must agree bit for bit.
  const one = NET.replace(/race:[\s\S]*$/, 'monitors: { every: 1 }\n');
  const rare = NET.replace(/race:[\s\S]*$/, 'monitors: { every: 1000 }\n');
  const scalars = (events: OptiscopeEvent[]): string[] => events.filter((e): e is StepEvent => e.type === 'step').map((s) => `${s.step} ${s.loss} ${s.gradNorm}`);
  const a = scalars(await stream(one)), b = scalars(await stream(rare));
  assert.equal(a.length, 40);
  assert.deepEqual(a, b);
  const huge = (every: number): string => NET.replace(/race:[\s\S]*$/, `monitors: { every: ${every} }\n`).replace('{ name: adam, lr: 0.01 }', '{ name: sgd, lr: 1.7e308 }');
  const lastLayers: string[] = [];
  for (const every of [1, 1000]) {
    const events = await stream(huge(every));
    const end = events.find((e) => e.type === 'end');
    assert.equal(end?.type === 'end' && `${end.reason} at ${end.steps}`, 'diverged at 2', `every ${every}`);
    const last = events.filter((e): e is StepEvent => e.type === 'step').at(-1);
    lastLayers.push(JSON.stringify(last?.layers.map((l) => [l.name, l.saturatedFraction, l.deadFraction])));
  }
  // The diverging step carries statistics either way; with every: 1000 its unit activity is measured after
  // the fact (the forward pass measured none on a step without statistics): the same numbers.
  const saturated = (JSON.parse(lastLayers[0]) as [string, number | undefined][])[0][1];
  assert.ok(saturated !== undefined && saturated > 0.5, `the huge step saturates the tanh layer (${saturated})`);
  assert.equal(lastLayers[1], lastLayers[0]);
});
