/**
 * erf to full double precision, for the exact GELU (PyTorch's default, 0.5·x·(1 + erf(x/√2))).
 * JavaScript has no Math.erf. The series erf(z) = 2/√π · e^(−z²) · Σ (2z²)ⁿ z / (2n+1)!! has only
 * positive terms (no cancellation), so it is accurate to a few ulps; beyond |z| = 6, erf(z) = ±1 in doubles.
 */
const TWO_OVER_SQRT_PI = 1.1283791670955126;

export function erf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  const a = Math.abs(z);
  if (a >= 6) return z > 0 ? 1 : -1;
  const z2 = 2 * a * a;
  let term = a;
  let sum = a;
  for (let n = 1; n < 200; n++) {
    term *= z2 / (2 * n + 1);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  const r = TWO_OVER_SQRT_PI * Math.exp(-a * a) * sum;
  return z < 0 ? -r : r;
}
