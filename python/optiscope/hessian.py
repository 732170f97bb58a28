"""The curvature probe: extreme Hessian eigenvalues of the loss by Lanczos on Hessian-vector products
computed with double backward (Pearlmutter's trick, no Hessian ever formed).

`hvp_from_loss` differentiates a loss whose graph is still alive; in zero-code mode that is the graph of
the batch the script just backpropagated (kept for one extra pass on probe steps), in explicit mode
the graph of the user's closure.
"""
import math
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch

Hvp = Callable[[List[torch.Tensor]], List[torch.Tensor]]


def hvp_from_loss(loss: torch.Tensor, params: Sequence[torch.Tensor]) -> Optional[Hvp]:
    """H·v for the loss's graph w.r.t. params; None when the loss does not depend on them twice."""
    ps = [p for p in params if p.requires_grad]
    grads = torch.autograd.grad(loss, ps, create_graph=True, allow_unused=True)
    pairs = [(p, g) for p, g in zip(ps, grads) if g is not None and g.requires_grad]
    if not pairs:
        return None
    used = [p for p, _ in pairs]
    gs = [g for _, g in pairs]

    def hvp(vs: List[torch.Tensor]) -> List[torch.Tensor]:
        out = torch.autograd.grad(gs, used, grad_outputs=vs, retain_graph=True, allow_unused=True)
        return [torch.zeros_like(p) if h is None else h.detach() for p, h in zip(used, out)]

    hvp.params = used  # type: ignore[attr-defined]
    return hvp


def lanczos(hvp: Hvp, params: Sequence[torch.Tensor], iterations: int = 20, seed: int = 0) -> Tuple[List[float], int]:
    """Ritz values (ascending) of the Hessian after `iterations` Lanczos steps with full
    re-orthogonalisation, and the number of HVPs spent. Vectors live on the parameters' devices."""
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]
    n = sum(sizes)
    m = max(1, min(iterations, n))
    gen = torch.Generator().manual_seed(seed)
    dtype = torch.float64

    def split(v: torch.Tensor) -> List[torch.Tensor]:
        return [c.reshape(s).to(device=p.device, dtype=p.dtype) for c, s, p in zip(torch.split(v, sizes), shapes, params)]

    def flat(ts: List[torch.Tensor]) -> torch.Tensor:
        return torch.cat([t.reshape(-1).to(device="cpu", dtype=dtype) for t in ts])

    q = torch.randn(n, generator=gen, dtype=dtype)
    q /= q.norm()
    basis: List[torch.Tensor] = []
    alphas: List[float] = []
    betas: List[float] = []
    beta = 0.0
    hvps = 0
    for j in range(m):
        basis.append(q)
        w = flat(hvp(split(q)))
        hvps += 1
        alpha = float(torch.dot(w, q))
        alphas.append(alpha)
        w = w - alpha * q - (beta * basis[-2] if j > 0 else 0.0)
        for b in basis:  # full re-orthogonalisation keeps the Ritz values honest in float32 HVPs
            w = w - torch.dot(w, b) * b
        beta = float(w.norm())
        if j == m - 1 or beta < 1e-10 * max(1.0, abs(alpha)):
            break
        betas.append(beta)
        q = w / beta
    k = len(alphas)
    t = np.diag(np.array(alphas)) + (np.diag(np.array(betas[: k - 1]), 1) + np.diag(np.array(betas[: k - 1]), -1) if k > 1 else 0)
    values = sorted(float(x) for x in np.linalg.eigvalsh(np.atleast_2d(t)))
    return values, hvps


def extremes(values: List[float], k: int = 3) -> List[float]:
    if len(values) <= 2 * k:
        return list(values)
    return sorted(values[:k] + values[-k:])


def finite(x: float) -> bool:
    return not (math.isnan(x) or math.isinf(x))
