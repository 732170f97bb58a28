/**
 * `npx optiscope` with no arguments: two short experiments that show what Optiscope is for, in a few
 * seconds, with no files and no network. The configs are ordinary configs (examples/ has the same ones).
 */
import { resolveConfigText } from '../config/load';
import type { Format } from './args';
import type { Io } from './run';
import { runResolved } from './run';

export const QUICKSTART_SADDLE = `# Three optimizers start next to the saddle point of f(x, y) = x² − y².
# The gradient there is almost zero, yet the point is not a minimum: the Hessian has a negative eigenvalue.
seed: 1
problem:
  function: saddle
  start: [-1.0, 0.000001]
training:
  optimizer: { name: sgd, lr: 0.02 }
  steps: 150
race:
  - { name: sgd, lr: 0.02 }
  - { name: momentum, lr: 0.01, momentum: 0.9 }
  - { name: adam, lr: 0.05 }
`;

export const QUICKSTART_DEEP_SIGMOID = `# A deep network of sigmoid units: each layer multiplies the backpropagated gradient by σ' ≤ 1/4,
# so the first layers barely learn (vanishing gradients).
seed: 1
model:
  layers:
    - { units: 16, activation: sigmoid, init: xavier }
    - { units: 16, activation: sigmoid, init: xavier }
    - { units: 16, activation: sigmoid, init: xavier }
    - { units: 16, activation: sigmoid, init: xavier }
    - { units: 16, activation: sigmoid, init: xavier }
    - { units: 16, activation: sigmoid, init: xavier }
    - { units: 16, activation: sigmoid, init: xavier }
    - { units: 1, activation: linear }
  loss: bce
data:
  dataset: moons
  samples: 512
  noise: 0.1
training:
  optimizer: { name: sgd, lr: 0.5 }
  batch_size: 32
  steps: 600
`;

const PARTS: { name: string; title: string; text: string; lesson: string }[] = [
  {
    name: 'saddle-race',
    title: '1/2  SGD, momentum and Adam race away from a saddle point of x² − y²',
    text: QUICKSTART_SADDLE,
    lesson: 'Plain SGD creeps away from a saddle at a rate set by |λmin|·lr; momentum and Adam escape far sooner.\n' +
      'Optimizers that only look at the gradient cannot tell a saddle from a minimum — the curvature can.',
  },
  {
    name: 'deep-sigmoid',
    title: '2/2  An eight-layer sigmoid network whose first layers stop learning',
    text: QUICKSTART_DEEP_SIGMOID,
    lesson: 'Gradients shrink layer by layer on the way back. ReLU with He initialisation, or batch normalisation,\n' +
      'keeps their scale; Optiscope names the first layer affected and the config line to change.',
  },
];

export async function runQuickstart(format: Format, io: Io): Promise<number> {
  const human = format === 'text';
  const say = (s: string): void => (human ? io.stdout(s) : io.stderr(s));
  say('Optiscope — see what your optimizer is doing.\n\n');
  for (const part of PARTS) {
    const config = resolveConfigText(part.text, `<quickstart:${part.name}>`);
    // Run ids must be unique across one stream.
    if (config.race) config.race = config.race.map((o) => ({ ...o, label: `${part.name}/${o.label ?? o.name}` }));
    else config.training.optimizer = { ...config.training.optimizer, label: `${part.name}/${config.training.optimizer.name}` };
    say(`${part.title}\n`);
    const code = await runResolved(config, { format }, io);
    if (code !== 0) return code;
    say(`\n${part.lesson}\n\n`);
    if (io.signal.aborted) return 0;
  }
  say('Next: `npx optiscope run examples/<file>` for the examples, `--format ndjson` for the event stream,\n' +
    'or open a config in VS Code and run "Optiscope: Run" to watch it live beside your code.\n');
  return 0;
}
