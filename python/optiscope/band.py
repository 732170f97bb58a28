"""The effective-lr band of one layer on the CPU: the order statistics (min, the two middle values, max)
of the optimizer state tensor behind it, taken through numpy views of the tensors.

Why: a small model's step is shorter than the torch calls of the band. The device path (stats.py,
`_eff_device` with `effective_lr.with_gradient` and `nan_minmax`) costs eight torch calls per parameter
and four per layer, ~2-10 µs of dispatch each; a W2 step (≈ 0.5 ms) paid ~0.4 ms for it, in the helper
process that must keep pace with the training loop. A numpy view costs ~1 µs and its reductions are SIMD
too. The results are elements of the state tensor (order statistics do no arithmetic), so the band is
bit-identical to the device path's (python/tests/test_band.py checks it)."""
import math
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

_NUMPY_DTYPES = (torch.float32, torch.float64, torch.float16)


def fits(keys: Sequence[torch.Tensor]) -> bool:
    """The keys can be read as numpy arrays without a copy: dense CPU tensors of a numpy float dtype, none
    empty (an empty layer takes the device path, whose failure switches its band off: degrade.py)."""
    return all(k.device.type == "cpu" and k.dtype in _NUMPY_DTYPES and not k.is_sparse and k.numel() > 0 for k in keys)


def order_stats(keys: Sequence[torch.Tensor], zeros: Sequence[Optional[torch.Tensor]], sample: int) -> Tuple[float, float, float, float, int]:
    """(min, lower middle, upper middle, max) of the elements of `keys` whose gradient was not exactly
    zero (`zeros[i]`: the bool mask of where keys[i]'s gradient was zero, or None), NaN keys left out, and
    how many elements had a zero gradient. The middle values are those of the evenly strided sample the
    device path takes when the layer holds more than `sample` elements (each key strided from its first
    element). With no element left: (inf, nan, nan, -inf), as the device path gives."""
    total = sum(k.numel() for k in keys)
    stride = 1 if total <= sample else math.ceil(total / sample)
    lo, hi = math.inf, -math.inf
    zero_count = 0
    parts: List[np.ndarray] = []
    for key, zero in zip(keys, zeros):
        a = key.detach().numpy().reshape(-1)
        if zero is not None:
            z = zero.numpy().reshape(-1)
            n_zero = int(np.count_nonzero(z))
            if n_zero:
                zero_count += n_zero
                a = np.where(z, np.nan, a)  # left out as NaN, like the device path's masked key
        if a.size:
            # fmin/fmax skip NaN; a key that is NaN everywhere gives NaN, read as no element.
            k_lo, k_hi = float(np.fmin.reduce(a)), float(np.fmax.reduce(a))
            if k_lo == k_lo:
                lo, hi = min(lo, k_lo), max(hi, k_hi)
        parts.append(a[::stride] if stride > 1 else a)
    s = np.concatenate(parts) if len(parts) > 1 else parts[0]
    n = s.size - int(np.count_nonzero(np.isnan(s)))
    if n == 0:
        return lo, math.nan, math.nan, hi, zero_count
    k1, k2 = (n - 1) // 2, n // 2
    # NaN sorts after every number: the first n places are the numbers in order.
    p = np.partition(s, (k1, k2)) if s.size > 1 else s
    return lo, float(p[k1]), float(p[k2]), hi, zero_count
