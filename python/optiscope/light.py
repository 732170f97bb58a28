"""A light step's measurement (cadence.py): the global gradient norm, in the training process, with one
torch call for dense gradients. A light step reports its loss, this norm and the lr, with no per-layer pass."""
import math
from typing import List

import torch

from .stats import tensor_norms


def grad_norm(params: List[torch.Tensor]) -> float:
    """The norm of every parameter's gradient taken as one vector: the per-tensor norms, then the root of
    their squares' sum in float64. A detailed step takes the same quantity from float64 sums of squares
    (flat_stats.py), so the two agree to float32 rounding (a relative 1e-7), not bit for bit.

    One `torch._foreach_norm` reads each gradient once: measured inside W2's training loop (after
    backward(), where the gradients and the optimizer state compete for the cache) it cost the step less
    than a `torch.cat` into a buffer and one dot product, which is faster only on hot memory. A sum that
    overflows reads as inf: the step is then taken with per-layer statistics (monitor.py)."""
    present = [g for p in params if (g := p.grad) is not None]  # each .grad read once (a C getter call)
    if not present:
        return 0.0
    # No no_grad() context: a gradient made with create_graph=True gives its norm a graph, dropped with
    # the 0-d tensor at once; the value is the same and the context cost more than the sum.
    return math.sqrt(sum([x * x for x in map(float, tensor_norms(present))]))
