/** Raw matrix-multiply kernels: the engine's (WebAssembly SIMD and JavaScript, float64) on C += A·B. */
import { mmNN, mmNNjs } from '../src/engine/autodiff/kernels';
import { Rng } from '../src/engine/rng';
import { seconds, type Timing } from './stats';

export interface Shape { m: number; k: number; n: number }

export function shapeName(s: Shape): string {
  return `${s.m}×${s.k}·${s.k}×${s.n}`;
}

export function flops(s: Shape): number {
  return 2 * s.m * s.k * s.n;
}

export function engineMatmul(s: Shape, kernel: 'wasm' | 'js'): (reps: number) => Timing {
  const rng = new Rng(5);
  const A = Float64Array.from({ length: s.m * s.k }, () => rng.normal());
  const B = Float64Array.from({ length: s.k * s.n }, () => rng.normal());
  const C = new Float64Array(s.m * s.n);
  const f = kernel === 'wasm' ? mmNN : mmNNjs;
  return (reps) => seconds(() => {
    for (let r = 0; r < reps; r++) {
      C.fill(0);
      f(A, B, C, s.m, s.k, s.n);
    }
  });
}
