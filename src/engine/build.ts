/**
 * From a resolved config to the Objective the trainer optimises: a test function (`problem`) or a
 * network on its data (`model` + `data`). The input size comes from the data; the output layer must
 * match the targets (the config validator reports that earlier, with a location; this is the backstop).
 * The Rng is forked, data first and initial weights second, so adding monitors never shifts either.
 */
import type { ResolvedConfig } from './config/types';
import type { Objective } from './objective';
import type { Rng } from './rng';
import { FunctionObjective } from './data/function-objective';
import { loadData } from './data/load';
import { Network } from './nn/network';

export function buildObjective(config: ResolvedConfig, rng: Rng): Objective {
  if (config.problem) return new FunctionObjective(config.problem);
  if (!config.model) throw new Error('the config has neither problem nor model');
  if (!config.data) throw new Error('a model needs a data section');
  const dataRng = rng.fork();
  const initRng = rng.fork();
  const { train, validation } = loadData(config.data, config.model.loss, dataRng);
  return new Network(config.model, train, validation, initRng, config.training.precision);
}
