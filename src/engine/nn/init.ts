/**
 * Weight initialisations, drawn from the seeded Rng, for a weight of shape [fanOut × fanIn]
 * (torch.nn.Linear's layout). Formulas as torch.nn.init with default gains:
 *  zeros; normal N(0, std²) with std 0.01 unless given; uniform U(−limit, limit) with limit 0.05 unless
 *  given; xavier U(±√(6/(fanIn+fanOut))); xavier-normal N(0, 2/(fanIn+fanOut)); he N(0, 2/fanIn);
 *  he-uniform U(±√(6/fanIn)); lecun N(0, 1/fanIn).
 * The seeds' a/√n rule: `a` sets normal std = a/√fanIn, or uniform limit = a/√fanIn (any other name
 * with `a` is read as normal with that std). Biases start at zero; batch norm at γ = 1, β = 0.
 */
import type { InitSpec } from '../config/types';
import type { Rng } from '../rng';

export const DEFAULT_NORMAL_STD = 0.01;
export const DEFAULT_UNIFORM_LIMIT = 0.05;

export function initWeights(spec: InitSpec, fanIn: number, fanOut: number, rng: Rng, out: Float64Array): void {
  const normal = (std: number): void => {
    for (let i = 0; i < out.length; i++) out[i] = std * rng.normal();
  };
  const uniform = (limit: number): void => {
    for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-limit, limit);
  };
  if (spec.a !== undefined && spec.name !== 'zeros') {
    const s = spec.a / Math.sqrt(fanIn);
    if (spec.name === 'uniform' || spec.name === 'he-uniform' || spec.name === 'xavier') uniform(s);
    else normal(s);
    return;
  }
  switch (spec.name) {
    case 'zeros':
      out.fill(0);
      return;
    case 'normal':
      return normal(spec.std ?? DEFAULT_NORMAL_STD);
    case 'uniform':
      return uniform(spec.limit ?? DEFAULT_UNIFORM_LIMIT);
    case 'xavier':
      return uniform(Math.sqrt(6 / (fanIn + fanOut)));
    case 'xavier-normal':
      return normal(Math.sqrt(2 / (fanIn + fanOut)));
    case 'he':
      return normal(Math.sqrt(2 / fanIn));
    case 'he-uniform':
      return uniform(Math.sqrt(6 / fanIn));
    case 'lecun':
      return normal(Math.sqrt(1 / fanIn));
  }
}
