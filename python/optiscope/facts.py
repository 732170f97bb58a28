"""Facts about a PyTorch training script, measured cheaply and reported as `fact` events.

This module measures; it never judges. The TypeScript detectors (src/engine/monitors/detectors/facts/)
decide which facts are bugs, with which message, evidence and fix. What is measured, and when:

- gradient reset: at the first backward() after each of the first CHECK_STEPS steps, whether every
  parameter's gradient is None or zero (a reset happened) and how many backward() calls the step had;
  and at those steps' step() calls, whether every gradient was still None or zero after backward() (reset
  between backward() and step(), with the line of the last zero_grad() call);
- unoptimised parameters: after the first step, parameters that received a gradient but belong to no
  optimizer's param groups (with the module's creation line); again whenever the layers are looked at
  mid-run (relayout.py), for modules not reported yet (a head replaced and given to no optimizer);
- module mode: Dropout/BatchNorm modules with training == False, at the first steps and then every
  MODE_EVERY steps, reported when the set changes (with the line that called eval()/train(False));
- loss shapes: during the first GRAPH_STEPS steps, regression losses called on shapes that broadcast;
- softmax into a loss: during the first GRAPH_STEPS steps, a SoftmaxBackward node upstream of the input
  of cross_entropy (or of the log_softmax fed to nll_loss), read from the autograd graph;
- schedulers: where each LR scheduler was created and first stepped;
- gradient clipping: clip_grad_norm_/clip_grad_value_ calls, with the limit and the size before clipping,
  at the first call and then sampled (first steps, every MODE_EVERY) when clipping starts or stops biting,
  so the judge knows which gradient norms the script forced;
- the first layer's input statistics, the forward order of the parametric modules (with embedding and
  positional tables, and layers frozen with requires_grad False, marked), and layers whose units are all
  identical, on the first forward pass.

Everything is bounded: the graph and forward hooks are removed after the first steps, the rest is a
few attribute reads a step. A failure here disables fact collection, never the user's training.
"""
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from . import naming
from .source import caller_location, display_path, is_user_file, source_dict

Location = Tuple[str, int]

CHECK_STEPS = 4  # steps after which the gradient reset is checked
GRAPH_STEPS = 3  # steps whose losses and softmaxes are inspected
MODE_EVERY = 5  # after the first CHECK_STEPS steps, module modes are sampled every MODE_EVERY steps
MAX_FACTS = 64  # per run: a runaway script cannot flood the stream

# Autograd nodes that move or reshape values without changing them: a softmax seen through them still
# feeds the loss.
_PASS_THROUGH = ("ViewBackward", "ReshapeAlias", "UnsafeViewBackward", "PermuteBackward", "TransposeBackward",
                 "SqueezeBackward", "UnsqueezeBackward", "CloneBackward", "ToCopyBackward", "SliceBackward",
                 "SelectBackward", "IndexBackward", "ExpandBackward", "TBackward", "SplitBackward", "CatBackward")
_SHAPE_LOSSES = ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss")
_MODE_TYPES = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)
_EMBEDDINGS = (nn.Embedding, nn.EmbeddingBag)


@dataclass
class _RunFacts:
    """What is known about one optimizer's run."""

    steps: int = 0
    backwards: int = 0
    reset: Optional[bool] = None  # at the first backward after the last step
    sent: int = 0
    mode_signature: Optional[Tuple[str, ...]] = None
    mode_modules: Optional[List[Tuple[str, nn.Module]]] = None
    pending: List[Dict[str, Any]] = field(default_factory=list)


_runs: Dict[int, _RunFacts] = {}
_monitors: Dict[int, Any] = {}
_global_pending: List[Dict[str, Any]] = []  # facts of the script (losses, inputs), not of one optimizer
_seen_keys: set = set()
_originals: Dict[str, Tuple[Any, str, Any]] = {}
_graph_on = False
_enabled = False
_softmaxes: List[Tuple[Any, Optional[Location]]] = []  # (grad_fn, line) of the softmaxes of this step
_init_lines: Dict[int, Location] = {}  # data_ptr of an initialised tensor -> the user's line
_eval_lines: Dict[int, Location] = {}  # id(module) -> the line that switched it to eval
_unoptimized_sent: Dict[int, set] = {}  # id(monitor) -> id of each module its run reported unoptimized
_eval_context: List[Optional[Location]] = []
_forward_order: List[nn.Module] = []
_forward_seen: set = set()
_forward_handle: Any = None
_input_fact: Optional[Tuple[nn.Module, Dict[str, Any]]] = None
_identical_done = False
_late = False  # every run is past the steps whose backward() calls are counted


@dataclass
class _Clip:
    """The latest gradient clipping call: the limit, and the size before clipping (a tensor, read lazily)."""

    method: str  # "norm" or "value"
    limit: float
    before: Any
    source: Optional[Location]


_zero_line: Optional[Location] = None  # the user's last zero_grad() call, during the first steps

_clip: Optional[_Clip] = None
_clip_sent: Dict[int, Tuple[str, float, bool]] = {}  # id(monitor) -> (method, limit, clipped) last reported


def _disable(e: BaseException) -> None:
    global _enabled
    if _enabled:
        _enabled = False
        sys.stderr.write(f"optiscope: fact collection stopped after an internal error ({type(e).__name__}: {e}); training continues.\n")
    _restore_graph()
    _restore("init:")
    _remove_forward_hook()


def _safely(fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        if not _enabled:
            return None
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - fact collection must never stop training
            _disable(e)
            return None

    return run


def _user_caller(depth: int = 2) -> Optional[Location]:
    """The immediate caller, when it is user code (not torch calling itself)."""
    try:
        f = sys._getframe(depth)
    except ValueError:
        return None
    if is_user_file(f.f_code.co_filename):
        return display_path(f.f_code.co_filename), f.f_lineno
    return None


def _global(fact: Dict[str, Any], key: Any) -> None:
    if key in _seen_keys:
        return
    _seen_keys.add(key)
    _global_pending.append(fact)


def _src(loc: Optional[Location]) -> Dict[str, Any]:
    s = source_dict(loc)
    return {"source": s} if s else {}


# -- patches --------------------------------------------------------------------------------------
def _patch(owner: Any, attr: str, make: Callable[[Any], Any], key: str) -> None:
    original = getattr(owner, attr, None)
    if original is None or key in _originals:
        return
    # An inherited attribute (Tensor.softmax lives on the C base class) is shadowed, then deleted again.
    _originals[key] = (owner, attr, original if attr in vars(owner) else None)
    setattr(owner, attr, make(original))


def _restore(prefix: str) -> None:
    for key in [k for k in _originals if k.startswith(prefix)]:
        owner, attr, original = _originals.pop(key)
        if original is None:
            delattr(owner, attr)
        else:
            setattr(owner, attr, original)


def _restore_graph() -> None:
    global _graph_on
    _graph_on = False
    _restore("graph:")
    _softmaxes.clear()


def _softmax_location() -> Optional[Location]:
    """The line to change for a softmax: an nn.Softmax module's creation line, else the user's call."""
    f: Any = sys._getframe(2)
    for _ in range(12):
        if f is None:
            break
        owner = f.f_locals.get("self")
        if isinstance(owner, nn.Softmax):
            return naming._created.get(owner) or caller_location(3)
        f = f.f_back
    return caller_location(3)


def _make_softmax(original: Any) -> Any:
    def softmax(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        if _graph_on and _enabled:
            try:
                fn = getattr(out, "grad_fn", None)
                if fn is not None and len(_softmaxes) < 32:
                    _softmaxes.append((fn, _softmax_location()))
            except Exception as e:  # noqa: BLE001
                _disable(e)
        return out

    return softmax


def _through(fn: Any) -> Any:
    """The first node upstream of `fn` that is not a pure view/copy."""
    for _ in range(8):
        if fn is None or not type(fn).__name__.startswith(_PASS_THROUGH):
            return fn
        nexts = [n for n, _ in fn.next_functions if n is not None]
        fn = nexts[0] if nexts else None
    return fn


def _softmax_into(loss: str, input: Any) -> None:
    fn = _through(getattr(input, "grad_fn", None))
    if fn is None:
        return
    chain = []
    if loss == "nll_loss":
        if not type(fn).__name__.startswith("LogSoftmaxBackward"):
            return
        chain.append(type(fn).__name__)
        nexts = [n for n, _ in fn.next_functions if n is not None]
        fn = _through(nexts[0]) if nexts else None
    if fn is None or not type(fn).__name__.startswith("SoftmaxBackward"):
        return
    chain.append(type(fn).__name__)
    where = next((loc for node, loc in _softmaxes if node is fn), None)
    loss_line = caller_location(3)
    fact = {"kind": "softmax-into-loss", "loss": loss, "chain": chain, **_src(where)}
    if loss_line:
        fact["lossSource"] = source_dict(loss_line)
    _global(fact, ("softmax", where, loss_line))


def _make_class_loss(name: str, original: Any) -> Any:
    def loss(input: Any, *args: Any, **kwargs: Any) -> Any:
        if _graph_on and _enabled:
            _safely(_softmax_into)(name, input)
        return original(input, *args, **kwargs)

    return loss


def _loss_shapes(name: str, input: Any, target: Any) -> None:
    if not isinstance(input, torch.Tensor) or not isinstance(target, torch.Tensor) or input.shape == target.shape:
        return
    try:
        broadcast = list(torch.broadcast_shapes(input.shape, target.shape))
    except RuntimeError:
        return  # torch raises its own error for shapes that do not broadcast
    loc = caller_location(3)
    _global({"kind": "loss-shapes", "loss": name, "input": list(input.shape), "target": list(target.shape),
             "broadcast": broadcast, **_src(loc)}, ("shapes", name, loc))


def _make_shape_loss(name: str, original: Any) -> Any:
    def loss(input: Any, target: Any, *args: Any, **kwargs: Any) -> Any:
        if _graph_on and _enabled:
            _safely(_loss_shapes)(name, input, target)
        return original(input, target, *args, **kwargs)

    return loss


def _make_init(original: Any) -> Any:
    """nn.init.* and Tensor.fill_/zero_ called by the user: remember the line that set the values."""

    def init(tensor: Any, *args: Any, **kwargs: Any) -> Any:
        if _enabled and not _identical_done and isinstance(tensor, torch.Tensor):
            loc = _user_caller()
            if loc is not None:
                _init_lines[tensor.data_ptr()] = loc
        return original(tensor, *args, **kwargs)

    return init


def _make_train(original: Any) -> Any:
    """Module.train(mode): remember the user's line that switched a module to eval."""

    def train(self: nn.Module, mode: bool = True) -> Any:
        if not _enabled:
            return original(self, mode)
        outer = not _eval_context
        if outer:
            _eval_context.append(caller_location(2) if not mode else None)
        try:
            if not mode and _eval_context[0] is not None:
                _eval_lines[id(self)] = _eval_context[0]
            elif mode:
                _eval_lines.pop(id(self), None)
            return original(self, mode)
        finally:
            if outer:
                _eval_context.clear()

    return train


def _scheduler_classes() -> List[type]:
    sched = torch.optim.lr_scheduler
    base = getattr(sched, "LRScheduler", None) or getattr(sched, "_LRScheduler", None)
    return [base] if base is not None else []


def _make_sched_init(original: Any) -> Any:
    def __init__(self: Any, optimizer: Any, *args: Any, **kwargs: Any) -> None:
        if _enabled and not hasattr(self, "_optiscope_created"):
            self._optiscope_created = caller_location(2)
        self._optiscope_init = True
        try:
            original(self, optimizer, *args, **kwargs)
        finally:
            self._optiscope_init = False

    return __init__


def _scheduler_stepped(self: Any) -> None:
    if getattr(self, "_optiscope_init", False) or getattr(self, "_optiscope_stepped", False):
        return
    self._optiscope_stepped = True
    monitor = getattr(getattr(self, "optimizer", None), "_optiscope", None)
    if monitor is None:
        return
    fact: Dict[str, Any] = {"kind": "scheduler", "name": type(self).__name__}
    created = source_dict(getattr(self, "_optiscope_created", None))
    stepped = source_dict(caller_location(3))
    if created:
        fact["created"] = created
    if stepped:
        fact["stepped"] = stepped
    _run(monitor).pending.append(fact)


def _make_sched_step(original: Any) -> Any:
    def step(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _enabled:
            _safely(_scheduler_stepped)(self)
        return original(self, *args, **kwargs)

    return step


def _make_clip_norm(original: Any) -> Any:
    def clip_grad_norm_(parameters: Any, max_norm: Any, *args: Any, **kwargs: Any) -> Any:
        total = original(parameters, max_norm, *args, **kwargs)
        if _enabled:
            _safely(_clip_called)("norm", max_norm, total)
        return total

    return clip_grad_norm_


def _make_clip_value(original: Any) -> Any:
    def clip_grad_value_(parameters: Any, clip_value: Any, *args: Any, **kwargs: Any) -> Any:
        before = None
        if _enabled and _clip_due("value", clip_value):
            params = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
            parameters = params
            before = _safely(_max_abs_grad)(params)
        out = original(parameters, clip_value, *args, **kwargs)
        if _enabled:
            _safely(_clip_called)("value", clip_value, before)
        return out

    return clip_grad_value_


def _clip_due(method: str, limit: Any) -> bool:
    """Is this clipping news for some run (not reported yet, or a new limit), or is a run at a step whose
    clipping is looked at (its first steps, then every MODE_EVERY)?"""
    if not _runs:
        return True
    for key, r in _runs.items():
        sent = _clip_sent.get(key)
        if sent is None or sent[0] != method or not _same_limit(sent[1], float(limit)) or r.steps < CHECK_STEPS \
                or (r.steps + 1) % MODE_EVERY == 0:
            return True
    return False


def _max_abs_grad(params: List[Any]) -> Optional[torch.Tensor]:
    grads = [p.grad.detach().abs().max() for p in params if isinstance(p, torch.Tensor) and p.grad is not None and p.grad.numel()]
    return torch.stack(grads).max() if grads else None


_clip_lines: Dict[Tuple[Any, int], Optional[Location]] = {}  # the user's line for each immediate call site


def _same_limit(a: float, b: float) -> bool:
    """A limit that moved by less than 2x (adaptive clipping retunes it every step) is not news."""
    return a == b or (a > 0 and b > 0 and 0.5 <= a / b <= 2)


def _clip_called(method: str, limit: Any, before: Any) -> None:
    global _clip
    f = sys._getframe(3)  # the clip call's caller (3: _safely, the wrapper, the caller)
    site = (f.f_code, f.f_lineno)
    if site not in _clip_lines and len(_clip_lines) < 64:  # the stack walk once per call site, not per step
        _clip_lines[site] = caller_location(3)
    loc = _clip_lines.get(site)
    _clip = _Clip(method, float(limit), before, loc)


def _clip_is_old(monitor: Any, c: _Clip) -> bool:
    sent = _clip_sent.get(id(monitor))
    return sent is not None and sent[0] == c.method and _same_limit(sent[1], c.limit)


def _clip_fact(monitor: Any, step: int) -> Optional[Dict[str, Any]]:
    """The clipping of the step just taken, when it is news for this run (first seen, limit changed, or it
    started or stopped biting on a sampled step)."""
    global _clip
    c = _clip
    _clip = None
    if c is None or c.before is None:
        return None
    last = _clip_sent.get(id(monitor))
    sampled = step <= CHECK_STEPS or step % MODE_EVERY == 0
    same = last is not None and last[0] == c.method and _same_limit(last[1], c.limit)
    if same and not sampled:
        return None
    before = float(c.before)  # one device sync, on the steps looked at only
    if not math.isfinite(before):
        return None
    clipped = before > c.limit
    if same and last is not None and last[2] == clipped:
        return None
    _clip_sent[id(monitor)] = (c.method, c.limit, clipped)
    return {"kind": "grad-clip", "method": c.method, "limit": c.limit, "before": before, "clipped": clipped, **_src(c.source)}


def _make_zero_grad(original: Any) -> Any:
    """Optimizer/Module.zero_grad: the user's line, during the first steps (where the reset is checked)."""

    def zero_grad(self: Any, *args: Any, **kwargs: Any) -> Any:
        global _zero_line
        if _enabled and not _late:
            _zero_line = caller_location(2) or _zero_line
        return original(self, *args, **kwargs)

    return zero_grad


# -- the first forward pass -------------------------------------------------------------------------
def _remove_forward_hook() -> None:
    global _forward_handle
    if _forward_handle is not None:
        _forward_handle.remove()
        _forward_handle = None


def _feeding_line() -> Optional[Location]:
    """The user's line that handed the data to the model: the innermost user frame outside any module."""
    f: Any = sys._getframe(2)
    while f is not None:
        if is_user_file(f.f_code.co_filename) and not isinstance(f.f_locals.get("self"), nn.Module):
            return display_path(f.f_code.co_filename), f.f_lineno
        f = f.f_back
    return None


def _input_stats(x: torch.Tensor) -> Optional[Dict[str, Any]]:
    if not x.is_floating_point() or x.dim() < 2 or x.shape[0] < 2 or x.numel() == 0:
        return None
    v = x.detach().float()
    # Features: columns of a [N, F] batch, channels of an image-like [N, C, ...] batch.
    per = v.transpose(0, 1).reshape(v.shape[1], -1)
    mean = per.mean(1)
    std = per.std(1)
    rms = (mean.pow(2) + std.pow(2)).sqrt()
    values = [float(v.mean()), float(v.std()), float(rms.max()), float(mean.abs().max()), float(std.max())]
    if not all(math.isfinite(a) for a in values):
        return None
    return {"mean": values[0], "std": values[1], "featureRmsMax": values[2], "featureMeanMax": values[3],
            "featureStdMax": values[4], "features": int(per.shape[0]), "rows": int(v.shape[0])}


def _forward_pre(module: nn.Module, inputs: Any) -> None:
    global _input_fact
    if not _enabled or id(module) in _forward_seen:
        return
    if not any(p is not None for p in module._parameters.values()):
        return
    _forward_seen.add(id(module))
    _forward_order.append(module)
    if len(_forward_order) == 1 and inputs and isinstance(inputs[0], torch.Tensor):
        stats = _input_stats(inputs[0])
        if stats is not None:
            _input_fact = (module, {"kind": "input-stats", **stats, **_src(_feeding_line())})


def _identical_units() -> None:
    """Before the first update: parametric layers whose output units are all identical."""
    global _identical_done
    _identical_done = True
    _restore("init:")
    layers = [m for m in _forward_order if not isinstance(m, _EMBEDDINGS)
              and isinstance(getattr(m, "weight", None), torch.Tensor) and m.weight.dim() >= 2]
    for i, m in enumerate(layers[:-1]):  # the output layer's units are told apart by their targets
        w = m.weight.detach()
        units = w.shape[0]
        if units < 2:
            continue
        rows = w.reshape(units, -1)
        if not torch.equal(rows, rows[:1].expand_as(rows)):
            continue
        bias = getattr(m, "bias", None)
        if isinstance(bias, torch.Tensor) and bias.numel() == units and not torch.equal(bias, bias[:1].expand_as(bias)):
            continue
        nxt = layers[i + 1].weight.detach()
        nxt = nxt.reshape(nxt.shape[0], -1)
        if nxt.shape[1] != units:
            outgoing = "unknown"
        else:
            outgoing = "identical" if torch.equal(nxt, nxt[:, :1].expand_as(nxt)) else "different"
        loc = _init_lines.get(m.weight.data_ptr()) or naming._created.get(m)
        _global({"kind": "identical-units", "module": id(m), "units": int(units), "value": float(rows[0].norm()),
                 "outgoing": outgoing, **_src(loc)}, ("identical", id(m)))


# -- per step ---------------------------------------------------------------------------------------
def _run(monitor: Any) -> _RunFacts:
    global _late
    r = _runs.get(id(monitor))
    if r is None:
        _late = False  # a run started later (a second watch) has its first steps to check
        r = _runs[id(monitor)] = _RunFacts()
        _monitors[id(monitor)] = monitor
    return r


def _grads_reset(monitor: Any) -> bool:
    for group in monitor.optimizer.param_groups:
        for p in group["params"]:
            g = p.grad
            if g is not None and bool(g.ne(0).any()):  # ne: a complex gradient too, without a cast
                return False
    return True


def on_backward() -> None:
    """Called by the backward() patch before the gradients are accumulated."""
    if not _enabled:
        return
    if _identical_done and _late:
        return
    try:
        if not _identical_done and _forward_order:
            _identical_units()
        for key, r in _runs.items():
            r.backwards += 1
            if r.backwards == 1 and 1 <= r.steps <= CHECK_STEPS:
                r.reset = _grads_reset(_monitors[key])
    except Exception as e:  # noqa: BLE001
        _disable(e)


def _layer_names(monitor: Any) -> Dict[int, str]:
    layout = getattr(monitor, "layout", None)
    return {id(layer.module): layer.name for layer in (layout.layers if layout else []) if layer.module is not None}


def _role(layer: Any) -> str:
    if layer.own_tensor:
        return "positional"  # a user container's own tensor: positional tables, class tokens, scales
    if isinstance(layer.module, _EMBEDDINGS):
        return "embedding"
    return "compute"


def _first_step(monitor: Any, all_monitors: List[Any]) -> List[Dict[str, Any]]:
    global _input_fact
    facts: List[Dict[str, Any]] = []
    step_line = caller_location(1)
    if step_line:
        facts.append({"kind": "step-call", **_src(step_line)})
    names = _layer_names(monitor)
    order = {id(m): i for i, m in enumerate(_forward_order)}
    layout = getattr(monitor, "layout", None)
    if layout is not None and layout.layers:
        layers = []
        for layer in layout.layers:
            entry: Dict[str, Any] = {"name": layer.name, "role": _role(layer)}
            if layer.module is not None and id(layer.module) in order:
                entry["order"] = order[id(layer.module)]
            if layer.params and not any(p.requires_grad for p in layer.params):
                entry["frozen"] = True  # requires_grad False: its zero gradient is the script's choice
            if layer.detached:
                entry["detached"] = True  # replaced or removed from the model: no gradient reaches it
            layers.append(entry)
        facts.append({"kind": "layer-order", "layers": layers})
    if _input_fact is not None:
        module, fact = _input_fact
        _input_fact = None
        fact["layer"] = names.get(id(module), type(module).__name__)
        facts.append(fact)
    found = _unoptimized(monitor, all_monitors)
    _unoptimized_sent.setdefault(id(monitor), set()).update(id(mod) for mod, _ in found)
    facts.extend(fact for _, fact in found)
    return facts


def _unoptimized(monitor: Any, all_monitors: List[Any], roots: Optional[List[nn.Module]] = None) -> List[Tuple[nn.Module, Dict[str, Any]]]:
    """Modules with parameters that have a gradient and are in no optimizer's param groups, with their
    facts; among `roots` (default: every outermost module, _roots)."""
    optimized = {id(p) for m in all_monitors for g in m.optimizer.param_groups for p in g["params"]}
    found = []
    for root in _roots(all_monitors) if roots is None else roots:
        for name, mod in root.named_modules():
            params = [p for p in mod._parameters.values() if p is not None and p.grad is not None and id(p) not in optimized]
            if params:
                found.append((mod, {"kind": "unoptimized-params", "module": naming.module_display_name(root, name, getattr(monitor, "module_names", {})),
                                    "parameters": int(sum(p.numel() for p in params)),
                                    **_src(naming.module_source(root, name))}))
    return found


def queue_unoptimized(monitor: Any, all_monitors: List[Any], new_modules: bool) -> bool:
    """Mid-run (relayout.py): modules that started receiving gradients outside every optimizer since the
    run last reported (a head replaced and given to no optimizer); their facts go out after this step.
    Looked for in the runs' models, and among every module when some were created since (`new_modules`).
    True when there is one."""
    if not _enabled:
        return False
    try:
        sent = _unoptimized_sent.setdefault(id(monitor), set())
        roots = None
        if not new_modules:
            roots = list({id(r): r for m in all_monitors for r in getattr(getattr(m, "layout", None), "root_modules", [])}.values())
        new = [(mod, fact) for mod, fact in _unoptimized(monitor, all_monitors, roots) if id(mod) not in sent]
        sent.update(id(mod) for mod, _ in new)
        _run(monitor).pending.extend(fact for _, fact in new)
        return bool(new)
    except Exception as e:  # noqa: BLE001
        _disable(e)
        return False


def _roots(all_monitors: List[Any]) -> List[nn.Module]:
    """The outermost modules: every module the script created (zero-code mode), else the models given
    to optiscope.watch (explicit mode, where module creation is not seen)."""
    mods = [m for m in naming.known_modules() if isinstance(m, nn.Module)]
    if not mods:
        mods = [m for mon in all_monitors for m in getattr(mon, "models", []) if isinstance(m, nn.Module)]
    inner = {id(c) for m in mods for c in m.modules() if c is not m}
    return [m for m in mods if id(m) not in inner and any(True for _ in m.parameters())]


def layout_changed(monitor: Any) -> None:
    """The run's layers changed (relayout.py): its Dropout/BatchNorm modules are looked up again."""
    r = _runs.get(id(monitor))
    if r is not None:
        r.mode_modules = None


def _mode_fact(monitor: Any, r: _RunFacts) -> Optional[Dict[str, Any]]:
    if r.mode_modules is None:
        r.mode_modules = []
        layout = getattr(monitor, "layout", None)
        for root in (layout.root_modules if layout else []):
            r.mode_modules.extend((n, m) for n, m in root.named_modules() if isinstance(m, _MODE_TYPES))
    off = [(n, m) for n, m in r.mode_modules if not m.training]
    signature = tuple(n for n, _ in off)
    if signature == r.mode_signature:
        return None
    first = r.mode_signature is None
    r.mode_signature = signature
    if first and not off:
        return None
    loc = next((_eval_lines[id(m)] for _, m in off if id(m) in _eval_lines), None)
    if loc is None and off:
        loc = naming._created.get(off[0][1])
    return {"kind": "module-mode", "evalModules": [n or "model" for n in signature][:20],
            "modeModules": len(r.mode_modules), **_src(loc)}


def after_step(monitor: Any, all_monitors: List[Any]) -> None:
    """Called by the step patch after optimizer.step() returned, before the monitor's post-step."""
    if not _enabled or getattr(monitor, "ended", False):
        return
    global _late, _clip
    try:
        r = _runs.get(id(monitor))
        if r is None:  # the run's first step (a call to _run on every step was one frame more)
            r = _run(monitor)
        r.steps += 1
        step = r.steps
        if step > CHECK_STEPS and step % MODE_EVERY and not r.pending and not _global_pending and r.reset is None \
                and (_clip is None or _clip_is_old(monitor, _clip)):
            # The common later step: nothing is due (a few attribute reads).
            if not _late:  # stays set until a new run starts (_run)
                _late = all(x.steps > CHECK_STEPS for x in _runs.values())
            _clip = None  # the same clipping as reported, on a step not sampled
            return
        facts: List[Dict[str, Any]] = []
        if step == 1:
            _remove_forward_hook()
            facts.extend(_first_step(monitor, all_monitors))
        if r.reset is not None:
            fact = {"kind": "grad-reset", "reset": r.reset, "backwards": r.backwards}
            if r.backwards > 0 and _grads_reset(monitor):
                # step() ran on gradients that backward() had filled and something reset since.
                fact["zeroAtStep"] = True
                if _zero_line is not None:
                    fact["zeroSource"] = source_dict(_zero_line)
            facts.append(fact)
            r.reset = None
        r.backwards = 0
        if step <= CHECK_STEPS or step % MODE_EVERY == 0:
            mode = _mode_fact(monitor, r)
            if mode is not None:
                facts.append(mode)
        clip = _clip_fact(monitor, step)
        if clip is not None:
            facts.append(clip)
        if _global_pending:
            facts.extend(_global_pending)
            _global_pending.clear()
        facts.extend(r.pending)
        r.pending.clear()
        if _graph_on and step >= GRAPH_STEPS and all(x.steps >= GRAPH_STEPS for x in _runs.values()):
            _restore_graph()
        _softmaxes.clear()
        names: Optional[Dict[int, str]] = None  # built only for a fact that names a layer (most sampled steps have none)
        for fact in facts:
            if r.sent >= MAX_FACTS:
                break
            if fact.get("kind") == "identical-units":
                if names is None:
                    names = _layer_names(monitor)
                module = fact.pop("module")
                fact = {**fact, "layer": names.get(module, "layer")}
            r.sent += 1
            monitor.emit({"type": "fact", "step": step, "fact": fact})
    except Exception as e:  # noqa: BLE001
        _disable(e)


def uninstall() -> None:
    """Undoes install(): every patched function is the original again, the forward hook is removed, and
    nothing of the runs is kept."""
    global _enabled, _graph_on, _input_fact, _identical_done, _late, _clip, _zero_line
    _enabled = _graph_on = False
    _restore("")
    _remove_forward_hook()
    for kept in (_runs, _monitors, _init_lines, _eval_lines, _unoptimized_sent):
        kept.clear()
    for kept_list in (_global_pending, _softmaxes, _eval_context, _forward_order):
        kept_list.clear()
    _seen_keys.clear()
    _forward_seen.clear()
    _input_fact = None
    _identical_done = _late = False
    _clip = _zero_line = None
    _clip_sent.clear()
    _clip_lines.clear()


def install() -> None:
    """Install the measuring patches, once per process: by hooks.install (zero-code mode) or by
    optiscope.watch (explicit mode, where only what happens after the call is seen: modules created or
    initialised before it have no creation or init line, and a scheduler created before it no creation
    line). uninstall() undoes them."""
    global _enabled, _graph_on, _forward_handle
    if _enabled or _originals or os.environ.get("OPTISCOPE_FACTS") == "0":
        return
    _init_lines.clear()
    _enabled = True
    _graph_on = True
    for name in ("cross_entropy", "nll_loss"):
        _patch(F, name, lambda o, n=name: _make_class_loss(n, o), f"graph:F.{name}")
    for name in _SHAPE_LOSSES:
        _patch(F, name, lambda o, n=name: _make_shape_loss(n, o), f"graph:F.{name}")
    _patch(torch.Tensor, "softmax", _make_softmax, "graph:Tensor.softmax")
    _patch(torch, "softmax", _make_softmax, "graph:torch.softmax")
    for name in ("constant_", "zeros_", "ones_", "normal_", "uniform_"):
        _patch(nn.init, name, _make_init, f"init:{name}")
    for name in ("fill_", "zero_"):
        _patch(torch.Tensor, name, _make_init, f"init:Tensor.{name}")
    _patch(nn.Module, "train", _make_train, "mode:train")
    _patch(torch.optim.Optimizer, "zero_grad", _make_zero_grad, "zero:Optimizer")
    _patch(nn.Module, "zero_grad", _make_zero_grad, "zero:Module")
    for owner in (torch.nn.utils, torch.nn.utils.clip_grad):
        _patch(owner, "clip_grad_norm_", _make_clip_norm, f"clip:{owner.__name__}.norm")
        _patch(owner, "clip_grad_value_", _make_clip_value, f"clip:{owner.__name__}.value")
    for cls in _scheduler_classes():
        _patch(cls, "__init__", _make_sched_init, "sched:init")
        _patch(cls, "step", _make_sched_step, "sched:step")
    _forward_handle = nn.modules.module.register_module_forward_pre_hook(_forward_pre)
