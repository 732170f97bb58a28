/**
 * Eigenvalues and eigenvectors of a small symmetric tridiagonal matrix by the implicit QL algorithm
 * with Wilkinson-type shifts (the classic tqli). Lanczos reduces the Hessian to such a matrix; its
 * eigenpairs are the Ritz values and the coordinates of the Ritz vectors in the Lanczos basis.
 */

export interface TridiagonalEigen {
  /** Eigenvalues, ascending. */
  values: Float64Array;
  /** Column j (vectors[i·n + j], i = 0..n−1) is the unit eigenvector of values[j]. */
  vectors: Float64Array;
}

/**
 * diag: the n diagonal entries; off: the n−1 entries below the diagonal (off[i] couples i and i+1).
 * Neither input is modified.
 */
export function tridiagonalEigen(diag: ArrayLike<number>, off: ArrayLike<number>): TridiagonalEigen {
  const n = diag.length;
  const d = Float64Array.from(diag);
  const e = new Float64Array(n);
  for (let i = 0; i < n - 1; i++) e[i] = off[i];
  const z = new Float64Array(n * n);
  for (let i = 0; i < n; i++) z[i * n + i] = 1;

  for (let l = 0; l < n; l++) {
    let iter = 0;
    let m: number;
    do {
      // Find a negligible off-diagonal element that splits the matrix.
      for (m = l; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * dd) break;
      }
      if (m !== l) {
        if (iter++ === 60) throw new Error('tridiagonalEigen: no convergence');
        let g = (d[l + 1] - d[l]) / (2 * e[l]);
        let r = Math.hypot(g, 1);
        g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
        let s = 1, c = 1, p = 0;
        let i: number;
        let underflow = false;
        for (i = m - 1; i >= l; i--) {
          let f = s * e[i];
          const b = c * e[i];
          r = Math.hypot(f, g);
          e[i + 1] = r;
          if (r === 0) {
            d[i + 1] -= p;
            e[m] = 0;
            underflow = true;
            break;
          }
          s = f / r;
          c = g / r;
          g = d[i + 1] - p;
          r = (d[i] - g) * s + 2 * c * b;
          p = s * r;
          d[i + 1] = g + p;
          g = c * r - b;
          for (let k = 0; k < n; k++) {
            f = z[k * n + i + 1];
            z[k * n + i + 1] = s * z[k * n + i] + c * f;
            z[k * n + i] = c * z[k * n + i] - s * f;
          }
        }
        if (underflow && i >= l) continue;
        d[l] -= p;
        e[l] = g;
        e[m] = 0;
      }
    } while (m !== l);
  }

  // Sort ascending, carrying the eigenvectors along.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[a] - d[b]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    values[j] = d[order[j]];
    for (let i = 0; i < n; i++) vectors[i * n + j] = z[i * n + order[j]];
  }
  return { values, vectors };
}
