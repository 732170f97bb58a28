"""The curvature probe: extreme Hessian eigenvalues of the loss by Lanczos on Hessian-vector products
computed with double backward (Pearlmutter's trick, no Hessian ever formed).

`hvp_from_loss` differentiates a loss whose graph is still alive; in zero-code mode that is the graph of
the batch the script just backpropagated (kept for one extra pass on probe steps), in explicit mode
the graph of the user's closure.
"""
import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

Hvp = Callable[[List[torch.Tensor]], List[torch.Tensor]]


def hvp_from_loss(loss: torch.Tensor, params: Sequence[torch.Tensor]) -> Optional[Hvp]:
    """H·v for the loss's graph w.r.t. params; None when the loss does not depend on them twice."""
    return _hvp_of(_first_order(loss, params)[0])


Pairs = List[Tuple[torch.Tensor, torch.Tensor]]


def _first_order(loss: torch.Tensor, params: Sequence[torch.Tensor]) -> Tuple[Pairs, set]:
    """(parameter, gradient with its own graph) for the parameters the loss depends on twice, and the ids
    of those with a gradient that has no graph (a constant: computed outside autograd)."""
    ps = [p for p in params if p.requires_grad]
    grads = torch.autograd.grad(loss, ps, create_graph=True, allow_unused=True)
    flat = {id(p) for p, g in zip(ps, grads) if g is not None and not g.requires_grad}
    return [(p, g) for p, g in zip(ps, grads) if g is not None and g.requires_grad], flat


def _hvp_of(pairs: Pairs) -> Optional[Hvp]:
    if not pairs:
        return None
    used = [p for p, _ in pairs]
    gs = [g for _, g in pairs]

    def hvp(vs: List[torch.Tensor]) -> List[torch.Tensor]:
        out = torch.autograd.grad(gs, used, grad_outputs=vs, retain_graph=True, allow_unused=True)
        return [torch.zeros_like(p) if h is None else h.detach() for p, h in zip(used, out)]

    hvp.params = used  # type: ignore[attr-defined]
    return hvp


def _trial(hvp: Hvp) -> Optional[str]:
    """Why one H·v through this graph fails (an operation without a second derivative, a sparse or
    in-place-modified tensor), or None when it works."""
    params = list(getattr(hvp, "params"))
    gen = torch.Generator().manual_seed(0)
    try:
        vs = [torch.randn(p.shape, generator=gen, dtype=torch.float64).to(device=p.device, dtype=p.dtype) for p in params]
        for h in hvp(vs):
            (h.to_dense() if h.is_sparse else h).reshape(-1)
    except Exception as e:  # noqa: BLE001 - any failure names an unsupported operation
        return reason_of(e)
    return None


# The node torch puts on the outputs of a @once_differentiable backward when a graph is asked of it: a
# gradient through it looks differentiable, but its second derivative is cut there (silently zero).
_CUT_NODES = ("Error", "DelayedError")
ONCE_DIFFERENTIABLE = "its gradient passes through a custom autograd Function whose backward is @once_differentiable (no second derivative)"
# A layer whose every gradient is a constant of the graph: a loss is never linear in a whole layer, so its
# gradient was computed outside autograd (a custom Function's backward that detaches or uses NumPy).
OUTSIDE_AUTOGRAD = "its gradient is computed outside autograd (a custom autograd Function whose backward detaches or uses NumPy), so it has no second derivative"


def _cut(pairs: Pairs) -> Optional[str]:
    """ONCE_DIFFERENTIABLE when some gradient's graph holds a cut node, else None."""
    seen: set = set()
    stack = [g.grad_fn for _, g in pairs]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        if type(fn).__name__ in _CUT_NODES:
            return ONCE_DIFFERENTIABLE
        stack.extend(n for n, _ in fn.next_functions)
    return None


def reason_of(e: BaseException) -> str:
    """The first line of an exception, short enough for an event."""
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:300]


Blocks = Sequence[Tuple[str, Sequence[torch.Tensor]]]


def supported_hvp(loss: torch.Tensor, params: Sequence[torch.Tensor], blocks: Blocks,
                  excluded: Optional[set] = None, known: Optional[set] = None) -> Tuple[Optional[Hvp], List[Tuple[str, int, str]], Optional[str]]:
    """H·v on the parameters whose second derivative the loss's graph has. `excluded` (ids of parameters
    found unsupported by an earlier probe) are left out without a trial, as long as the graph reaches no
    parameter beyond `known` (ids an earlier probe measured); a parameter that joins the graph later (a table
    unfrozen mid-run) is tried as on a first probe. Otherwise one trial H·v on the
    whole model; when it fails, each block (layer) is tried on its own, those that fail are left out
    (the rest is probed: the curvature of the part of the model that has it) and the rest tried once more.
    Returns (hvp or None, the blocks newly left out as (name, parameters, why), why no probe at all)."""
    pairs, flat = _first_order(loss, [p for p in params if excluded is None or id(p) not in excluded])
    hvp = _hvp_of(pairs)
    if excluded is not None and (known is None or {id(p) for p, _ in pairs} <= known):
        return hvp, [], None
    dropped: List[Tuple[str, int, str]] = []
    bad: set = set()
    has_graph = {id(p) for p, _ in pairs}
    for name, block in blocks:
        ids = {id(p) for p in block}
        if ids & flat and not ids & has_graph:
            dropped.append((name, sum(p.numel() for p in block), OUTSIDE_AUTOGRAD))
            bad |= ids
    why = (_trial(hvp) or _cut(pairs)) if hvp is not None else None
    if why is None:
        return hvp, dropped, None
    for name, block in blocks:
        ids = {id(p) for p in block}
        mine = [(p, g) for p, g in pairs if id(p) in ids]
        sub = _hvp_of(mine)
        failed = (_trial(sub) or _cut(mine)) if sub is not None else None
        if failed is not None:
            dropped.append((name, sum(p.numel() for p in block), failed))
            bad |= ids
    kept = [(p, g) for p, g in pairs if id(p) not in bad]
    rest = _hvp_of(kept)
    if rest is None or len(kept) == len(pairs):
        return None, dropped, why
    why_rest = _trial(rest) or _cut(kept)
    return (rest, dropped, None) if why_rest is None else (None, dropped, why_rest)


# A re-orthogonalisation pass that leaves less than this fraction of w's norm is repeated (1/√2: DGKS).
ORTHO_AGAIN = 0.7071


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

    def flat(ts: List[torch.Tensor], out: torch.Tensor) -> torch.Tensor:
        """The HVP's tensors copied (and converted) into `out`, the basis's next row: no temporaries."""
        for chunk, t in zip(torch.split(out, sizes), ts):
            chunk.copy_(t.reshape(-1))
        return out

    # The basis as the rows of one matrix: re-orthogonalising against it is two matrix-vector products
    # (classical Gram-Schmidt), not a Python loop of a dot product and an update per vector, which cost a
    # 235k-parameter model ~4 training steps of vector work per HVP (docs/performance.md).
    basis = torch.empty(m, n, dtype=dtype)
    spare = torch.empty(n, dtype=dtype)  # w of the last step, which has no next row
    q = basis[0]
    q.copy_(torch.randn(n, generator=gen, dtype=dtype))
    q /= q.norm()
    alphas: List[float] = []
    betas: List[float] = []
    beta = 0.0
    hvps = 0
    for j in range(m):
        w = flat(hvp(split(q)), basis[j + 1] if j + 1 < m else spare)
        hvps += 1
        alpha = float(torch.dot(w, q))
        alphas.append(alpha)
        w.sub_(q, alpha=alpha)
        if j > 0:
            w.sub_(basis[j - 1], alpha=beta)
        # Full re-orthogonalisation keeps the Ritz values honest in float32 HVPs; a second pass when the
        # first removed most of w (the DGKS test, as in ARPACK): then the first could not be trusted.
        done = basis[: j + 1]
        before = float(w.norm())
        w.addmv_(done.t(), torch.mv(done, w), alpha=-1.0)
        beta = float(w.norm())
        if beta < ORTHO_AGAIN * before:
            w.addmv_(done.t(), torch.mv(done, w), alpha=-1.0)
            beta = float(w.norm())
        if j == m - 1 or beta < 1e-10 * max(1.0, abs(alpha)):
            break
        betas.append(beta)
        q = w.div_(beta)  # w is the basis's row j + 1 already
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


# ---------------------------------------------------------------------------------------------------
# Preconditioned sharpness λ_max(P⁻¹H): the same quantities as src/engine/monitors/preconditioner.ts,
# read from torch's optimizer state (derivations of P and of each edge: docs/monitors.md).

def _edge_constant(kind: str, group: Dict[str, Any], t: float) -> float:
    """The edge of lr·λ_max(P⁻¹H) for this optimizer's rule and hyperparameters (NaN when none)."""
    if kind in ("Adam", "AdamW", "Adamax"):
        b1 = float(group["betas"][0])
        return (2 + 2 * b1) / (1 - b1)
    if kind == "NAdam":
        b1 = float(group["betas"][0])
        mu = b1 * (1.0 - 0.5 * 0.96 ** (max(1.0, t) * float(group.get("momentum_decay", 4e-3))))
        return 2 * (1 + b1) / (1 + b1 - 2 * mu * b1)
    if kind == "RMSprop":
        return 2 * (1 + float(group.get("momentum", 0.0)))
    if kind in ("Adagrad", "Adadelta"):
        return 2.0
    return math.nan


def _inverse_p(kind: str, state: Dict[str, Any], group: Dict[str, Any], t: float) -> Optional[torch.Tensor]:
    """P⁻¹ of one parameter (float64) exactly as the optimizer divides by it at its current state."""
    eps = float(group.get("eps", 0.0))
    f64 = lambda k: state[k].detach().to(torch.float64)  # noqa: E731
    if kind in ("Adam", "AdamW", "NAdam"):
        key = "max_exp_avg_sq" if group.get("amsgrad") and "max_exp_avg_sq" in state else "exp_avg_sq"
        bc2 = math.sqrt(1 - float(group["betas"][1]) ** t)
        return 1.0 / (f64(key).sqrt() / bc2 + eps)
    if kind == "Adamax":
        return 1.0 / f64("exp_inf")
    if kind == "RMSprop":
        sq = f64("square_avg")
        if group.get("centered") and "grad_avg" in state:
            sq = sq - f64("grad_avg") ** 2
        return 1.0 / (sq.sqrt() + eps)
    if kind == "Adagrad":
        return 1.0 / (f64("sum").sqrt() + eps)
    if kind == "Adadelta":
        return (f64("acc_delta") + eps).sqrt() / (f64("square_avg") + eps).sqrt()
    return None


def _step_scale(kind: str, group: Dict[str, Any], t: float) -> float:
    """The lr the rule multiplies P⁻¹ by (Adagrad: lr/(1 + (t − 1)·lr_decay), the one it applied last)."""
    lr = float(group["lr"].item() if isinstance(group["lr"], torch.Tensor) else group["lr"])
    if kind == "Adagrad":
        return lr / (1 + (t - 1) * float(group.get("lr_decay", 0.0)))
    return lr


def preconditioner(optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor]) -> Optional[Tuple[List[torch.Tensor], float]]:
    """(D, edge): D = P^{-1/2} per parameter of `params` (scaled by √(lrₚ/lr₀) when groups differ in lr)
    and the largest stable λ_max(P⁻¹H) at the first group's step size; None for the SGD family, before
    the first update, or when a parameter has no state."""
    from .effective_lr import ADAPTIVE, _kind

    kind = _kind(optimizer)
    if kind not in ADAPTIVE:
        return None
    group_of = {id(p): g for g in optimizer.param_groups for p in g["params"]}
    ds: List[torch.Tensor] = []
    ref: Optional[Tuple[float, float]] = None
    for p in params:
        state = optimizer.state.get(p)
        group = group_of.get(id(p))
        if not state or group is None or "step" not in state:
            return None
        t = float(state["step"].item() if isinstance(state["step"], torch.Tensor) else state["step"])
        if t < 1:
            return None
        inv = _inverse_p(kind, state, group, t)
        scale = _step_scale(kind, group, t)
        if inv is None or not scale > 0:
            return None
        if ref is None:
            ref = (scale, _edge_constant(kind, group, t))
        d = (inv * (scale / ref[0])).sqrt()
        if not bool(torch.isfinite(d).all()):
            return None
        ds.append(d.to(device=p.device))
    if ref is None or not finite(ref[1]):
        return None
    return ds, ref[1] / ref[0]


def preconditioned_sharpness(optimizer: torch.optim.Optimizer, hvp: Hvp, iterations: int = 20, seed: int = 0) -> Optional[Tuple[float, float, int]]:
    """(λ_max(P⁻¹H), edge, HVPs) by Lanczos on the symmetric v ↦ D·H·D·v, D = P^{-1/2} (similar to
    P⁻¹H, so the same eigenvalues); None when the optimizer has no diagonal preconditioner (yet)."""
    params = list(getattr(hvp, "params"))
    pre = preconditioner(optimizer, params)
    if pre is None:
        return None
    ds, edge = pre

    def scaled(vs: List[torch.Tensor]) -> List[torch.Tensor]:
        hs = hvp([(d * v.to(torch.float64)).to(v.dtype) for d, v in zip(ds, vs)])
        return [(d * h.to(torch.float64)).to(h.dtype) for d, h in zip(ds, hs)]

    values, hvps = lanczos(scaled, params, iterations=iterations, seed=seed)
    lam = values[-1]
    return (lam, edge, hvps) if finite(lam) else None


def raw_edge(optimizer: torch.optim.Optimizer) -> Optional[float]:
    """SGD family: the largest stable raw λ_max at the first group's lr (2/lr; heavy ball
    2(1 + μ)/((1 − dampening)·lr); Nesterov 2(1 + μ)/((1 + 2μ)·lr)); None for other optimizers."""
    from .effective_lr import _kind

    if _kind(optimizer) != "SGD" or not optimizer.param_groups:
        return None
    g = optimizer.param_groups[0]
    lr = float(g["lr"].item() if isinstance(g["lr"], torch.Tensor) else g["lr"])
    mu, damp = float(g.get("momentum", 0.0)), float(g.get("dampening", 0.0))
    if not lr > 0:
        return None
    if mu == 0:
        return 2 / lr
    if g.get("nesterov"):
        return 2 * (1 + mu) / ((1 + 2 * mu) * lr)
    return 2 * (1 + mu) / (max(1 - damp, 1e-12) * lr)


# Per-layer block curvature, as the engine measures it: networks up to this many parameters, a short
# Lanczos per layer, on scheduled and requested probes only.
LAYER_CURVATURE_MAX_PARAMETERS = 200_000
LAYER_CURVATURE_ITERATIONS = 12


def layer_curvature(hvp: Hvp, layers: Sequence[Tuple[str, Sequence[torch.Tensor]]], iterations: int = LAYER_CURVATURE_ITERATIONS,
                    seed: int = 0) -> Optional[Tuple[List[Dict[str, Any]], int]]:
    """λ_max of each layer's diagonal Hessian block: Lanczos on v ↦ (H·[0; v; 0]) restricted to the
    layer's parameters; None for fewer than two layers, a model too large, or a non-finite value."""
    used = list(getattr(hvp, "params"))
    index = {id(p): i for i, p in enumerate(used)}
    if len(layers) < 2 or sum(p.numel() for p in used) > LAYER_CURVATURE_MAX_PARAMETERS:
        return None
    out: List[Dict[str, Any]] = []
    spent = 0
    for name, params in layers:
        idx = [index[id(p)] for p in params if id(p) in index]
        if not idx:
            continue

        def block(vs: List[torch.Tensor], idx: List[int] = idx) -> List[torch.Tensor]:
            full = [torch.zeros_like(p) for p in used]
            for i, v in zip(idx, vs):
                full[i] = v
            hs = hvp(full)
            return [hs[i] for i in idx]

        values, n = lanczos(block, [used[i] for i in idx], iterations=iterations, seed=seed)
        spent += n
        if not finite(values[-1]):
            return None
        out.append({"name": name, "lambdaMax": values[-1]})
    return out, spent


def probe_extras(optimizer: torch.optim.Optimizer, hvp: Hvp, iterations: int, seed: int,
                 layers: Optional[Sequence[Tuple[str, Sequence[torch.Tensor]]]] = None) -> Tuple[Dict[str, Any], int]:
    """The optimizer-specific part of a hessian event: `preconditioned` for adaptive optimizers,
    `lambdaEdge` for the SGD family, `layers` (block λ_max) when `layers` is given; and the HVPs spent."""
    extras: Dict[str, Any] = {}
    spent = 0
    pre = preconditioned_sharpness(optimizer, hvp, iterations=iterations, seed=seed)
    if pre is not None:
        extras["preconditioned"] = {"lambdaMax": pre[0], "edge": pre[1]}
        spent += pre[2]
    else:
        edge = raw_edge(optimizer)
        if edge is not None and finite(edge):
            extras["lambdaEdge"] = edge
    per_layer = layer_curvature(hvp, layers, seed=seed) if layers else None
    if per_layer is not None:
        extras["layers"] = per_layer[0]
        spent += per_layer[1]
    return extras, spent
