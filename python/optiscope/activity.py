"""Forward hooks: which module's output first went NaN/Inf, the fraction of dead ReLU units and of
saturated sigmoid/tanh units. Everything stays on the device as 0-d tensors until the step's single
transfer; the hooks never synchronise.

Activity is taken per call site: each call of an activation module is attributed to the layer whose
forward pass completed last before it, the layer whose output it consumed. One `self.relu` reused after
conv1, conv2 and fc1 gives three measurements, one per layer. Which layers feed which activation (the
start event's `activation`) is read from the script's first forward pass (record_call_sites, zero-code
mode), else guessed from the order the modules were registered in (`nn.Sequential(Linear, ReLU, ...)`).
Activations called as functions (`F.relu(x)`) have no module and cannot be seen.
"""
import weakref
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from torch import nn

from .hessian import reason_of
from .naming import Layout, _user_container

DEAD_KINDS = (nn.ReLU, nn.ReLU6)
# What a module without forward hooks loses, in words (the `unsupported` fact's quantity).
HOOKS = "dead/saturated-unit count and NaN origin"
SATURATING = (nn.Sigmoid, nn.Tanh, nn.Hardtanh)
# Monitored steps with fresh gradients on which hooks that never ran are looked for (check_hooks_ran).
HOOK_CHECKS = 3
SILENT_HOOKS = "its forward ran without calling Python forward hooks (TorchScript or a compiled graph)"


def _never_raises(hook: Callable[..., None]) -> Callable[..., None]:
    """A forward hook that fails (an exotic output type) records nothing instead of breaking the model."""

    def safe(*args: Any) -> None:
        try:
            hook(*args)
        except Exception:  # noqa: BLE001
            pass

    return safe


def _unit_active(out: torch.Tensor) -> Optional[torch.Tensor]:
    """Per-unit "was ever positive in this batch": units are the last dimension of (N, F) and
    (N, L, F) tensors and the channel dimension of (N, C, H[, W]) ones."""
    if out.dim() in (2, 3):
        return (out > 0).reshape(-1, out.shape[-1]).any(dim=0)
    if out.dim() >= 4:
        return (out > 0).transpose(0, 1).reshape(out.shape[1], -1).any(dim=1)
    return None


def _kind(mod: nn.Module) -> Optional[str]:
    if isinstance(mod, DEAD_KINDS):
        return "relu"
    if isinstance(mod, SATURATING):
        return "sigmoid" if isinstance(mod, nn.Sigmoid) else "tanh"
    return None


def _feeds(mod: nn.Module) -> bool:
    """A module whose output an activation can consume: one with parameters of its own, computed by its own
    forward (not a model class of the script's, whose own tensors are positional tables and the like)."""
    return any(p is not None for p in mod._parameters.values()) and not _user_container(mod)


# The first forward passes, as seen by a global forward hook (zero-code mode): the activation kind that
# consumed each layer's output. Recorded until every optimizer created so far has taken its first step.
_sites: "weakref.WeakKeyDictionary[nn.Module, str]" = weakref.WeakKeyDictionary()
_ran: "weakref.WeakSet[nn.Module]" = weakref.WeakSet()  # the layers whose forward the record saw
_recorder: Dict[str, Any] = {"handle": None, "last": None, "calls": 0}
_unstarted: "weakref.WeakSet[Any]" = weakref.WeakSet()


RECORD_CALLS = 100_000  # an optimizer that never steps must not keep the recording on for good


def _record(mod: nn.Module, _inp: Any, _out: Any) -> None:
    _recorder["calls"] += 1
    if _recorder["calls"] > RECORD_CALLS:
        stop_recording()
        return
    kind = _kind(mod)
    if kind is not None:
        last = _recorder["last"]
        if last is not None and last() is not None:
            _sites.setdefault(last(), kind)
    elif _feeds(mod):
        _recorder["last"] = weakref.ref(mod)
        _ran.add(mod)


def record_call_sites() -> None:
    """Zero-code mode: watch the first forward passes for which activation follows which layer."""
    if _recorder["handle"] is None:
        _recorder["handle"] = nn.modules.module.register_module_forward_hook(_never_raises(_record))


def expect_start(monitor: Any) -> None:
    """An optimizer was created: keep recording until its first step (its start event reads the record)."""
    if _recorder["handle"] is not None:
        _unstarted.add(monitor)


def started(monitor: Any) -> None:
    _unstarted.discard(monitor)
    if not len(_unstarted):
        stop_recording()


def stop_recording() -> None:
    if _recorder["handle"] is not None:
        _recorder["handle"].remove()
        _recorder["handle"] = None
        _recorder["last"] = None


class ActivityProbe:
    def __init__(self, layout: Layout, enabled: Callable[[], bool]) -> None:
        self.enabled = enabled
        self._activation: Dict[str, str] = {}  # layer → "relu" / "sigmoid" / "tanh" (the first after it)
        self.module_flags: List[Tuple[str, torch.Tensor]] = []
        self.batch_rows = 0  # examples in the last observed batch (dead units need enough of them)
        self._activity: dict = {}
        self._handles: List[Any] = []
        self._capture_handles: List[Any] = []
        self._inputs: List[Tuple[nn.Module, Any]] = []
        self._current: Optional[str] = None  # the layer whose forward pass completed last
        # (layer, kind) whose count failed on this model (a complex output has no order): off for that
        # layer from then on; each failure waits in `failures` to be said (degrade.py).
        self._off: set = set()
        self.failures: List[Tuple[Optional[str], str, str]] = []  # (layer or None for the run, quantity, reason)
        self._unhookable: set = set()  # ids of modules that take no Python hooks (TorchScript)
        self._said_unhookable = False
        self._unhook_reason = ""
        self.roots = list(layout.root_modules)
        # (module, name, kind: "dead" / "sigmoid" / "tanh" / None): the leaves and the activation modules
        self._plan: List[Tuple[nn.Module, str, Optional[str]]] = []
        # (module, its layer in this run or None): the modules whose output an activation can consume
        self._feeders: List[Tuple[nn.Module, Optional[str]]] = []
        of_module = {id(layer.module): layer.name for layer in layout.layers if layer.module is not None and _feeds(layer.module)}
        self._layer_modules = [(layer.name, layer.module) for layer in layout.layers if layer.module is not None]
        # A model scripted whole is found as the Python modules it was compiled from: their hooks register
        # but never run. check_hooks_ran compares which hooked modules ran with which layers got gradients.
        self._grad_layers = [(layer.name, layer.module, layer.params) for layer in layout.layers
                             if layer.module is not None and not layer.detached]
        self._hooked: set = set()  # ids of the modules with a hook attached now
        self._fired: set = set()  # ids of the modules one of whose hooks ran, ever
        self._grad_seen: Dict[str, tuple] = {}  # layer → its gradients' (identity, version) at the last check
        self._hooks_whole_step = False  # hooks were attached before this step's forward pass
        self._hook_checks = 0
        # The first step ran before the hooks were attached; in zero-code mode the global record saw its
        # forward pass (the layers whose own forward ran), so the first check covers it, before a helper
        # process takes over (offloaded runs hook only the sampled steps' activations).
        recording = _recorder["handle"] is not None
        self._record_seen = {id(m) for _, m, _ in self._grad_layers if recording and _feeds(m)}
        self._fired.update(id(m) for _, m, _ in self._grad_layers if m in _ran)
        recorded = any(layer.module in _ran for layer in layout.layers if layer.module is not None)
        seen: set = set()
        for root in self.roots:
            current: Optional[str] = None
            for name, mod in root.named_modules():
                if id(mod) in seen:
                    continue
                seen.add(id(mod))
                layer = of_module.get(id(mod))
                if _feeds(mod):
                    self._feeders.append((mod, layer))
                    current = layer
                    if recorded and layer is not None and mod in _sites:
                        self._activation.setdefault(layer, _sites[mod])
                kind = _kind(mod)
                if kind is not None and current is not None and not recorded:
                    self._activation.setdefault(current, kind)  # no forward pass seen: registration order
                leaf = not any(True for _ in mod.children())
                if leaf or kind:
                    self._plan.append((mod, name or type(mod).__name__, None if kind is None else "dead" if kind == "relu" else kind))
        self.dead_layers = {l for l, k in self._activation.items() if k == "relu"}
        self.saturating_layers = {l for l, k in self._activation.items() if k != "relu"}
        self.attached = False  # the hooks are registered (attach), whether or not every module took one
        # The hooks attach made, per `finite` setting: (module, hook, pre-hook?), registered again as they are.
        self._made: Dict[bool, List[Tuple[nn.Module, Callable[..., None], bool]]] = {}
        self._making: List[Tuple[nn.Module, Callable[..., None], bool]] = []
        self.attach(finite=True)
        self._hooks_whole_step = False  # attached after this step's forward pass: it sets the baseline only

    def activation_of(self, layer: str) -> Optional[str]:
        """The activation after `layer` whose units can die (relu) or saturate (sigmoid, tanh), if any."""
        return self._activation.get(layer)

    def attach(self, finite: bool = True) -> None:
        """Registers the hooks: activity counters, and with `finite` the per-module NaN/Inf flags. The
        hooks made for a `finite` setting are kept and registered again at the next attach (an inline run
        attaches them for every detailed step: cadence.plan_inline_activity)."""
        self.detach()
        made = self._made.get(finite)
        if made is not None:
            for mod, fn, pre in made:
                self._handles.append(mod.register_forward_pre_hook(fn) if pre else mod.register_forward_hook(fn))
                self._hooked.add(id(mod))
            self._hooks_whole_step = bool(self._handles)
            self.attached = True
            return
        self._making = []
        tried = 0
        if any(kind is not None for _, _, kind in self._plan):  # call sites: which layer ran last
            for root in self.roots:
                tried += 1
                self._hook(root, self._feeder_hook(None), pre=True)
            for mod, layer in self._feeders:
                tried += 1
                self._hook(mod, self._feeder_hook(layer))
        for mod, name, kind in self._plan:
            if finite and not any(True for _ in mod.children()):
                tried += 1
                self._hook(mod, self._finite_hook(name))
            if kind == "dead":
                tried += 1
                self._hook(mod, self._dead_hook())
            elif kind is not None:
                tried += 1
                self._hook(mod, self._sat_hook(kind == "sigmoid"))
        self._hooks_whole_step = bool(self._handles)  # between steps: the next forward pass runs them
        self.attached = True
        self._made[finite], self._making = self._making, []
        self._say_unhookable(tried)

    def _hook(self, mod: nn.Module, fn: Callable[..., None], pre: bool = False) -> None:
        """Registers one forward (pre-)hook; a module that takes none (a TorchScript module) is left out."""
        if id(mod) in self._unhookable:
            return
        if isinstance(mod, torch.jit.ScriptModule):
            # Compiled code calls its submodules without their Python hooks, and the module itself refuses them.
            self._unhookable.add(id(mod))
            self._unhook_reason = "it runs as TorchScript, which calls no Python forward hooks"
            return
        ran, fired = id(mod), self._fired

        def noted(*args: Any) -> Any:
            fired.add(ran)
            return fn(*args)

        try:
            self._handles.append(mod.register_forward_pre_hook(noted) if pre else mod.register_forward_hook(noted))
            self._hooked.add(ran)
            self._making.append((mod, noted, pre))
        except Exception as e:  # noqa: BLE001 - "register_forward_hook is not supported on ScriptModules"
            self._unhookable.add(id(mod))
            self._unhook_reason = f"it takes no forward hooks ({reason_of(e)})"

    def _say_unhookable(self, tried: int) -> None:
        """The layers whose modules took no hook, once: their dead/saturated units and NaN origin are off
        (every hook failed: once for the run)."""
        if not self._unhookable or self._said_unhookable:
            return
        self._said_unhookable = True
        why = self._unhook_reason
        if not self._handles and tried:
            self.failures.append((None, HOOKS, why))
            return
        for layer, mod in self._layer_modules:
            if id(mod) in self._unhookable:
                self.failures.append((layer, HOOKS, why))

    def check_hooks_ran(self) -> None:
        """After a monitored step: layers got a fresh, nonzero gradient on this step while their modules'
        hooks were attached (or the first step's forward pass was recorded), yet no hook of the run ever
        ran: the forward calls no Python hooks (a model scripted whole), so dead/saturated units and NaN
        origin are off for the run, said once. A layer not run on a step (an aux head) gets no gradient on
        it; hooks attached mid-step (a sampling switch) only set the baseline."""
        if self._hook_checks >= HOOK_CHECKS:
            return
        whole, self._hooks_whole_step = self._hooks_whole_step, bool(self._handles)
        seen, self._record_seen = self._record_seen, set()
        fresh_any = False  # some layer got a fresh, nonzero gradient without its hooks running
        for layer, mod, params in self._grad_layers:
            if id(mod) in self._fired or id(mod) not in (self._hooked | seen if whole else seen):
                continue
            state = tuple(None if p.grad is None else (id(p.grad), p.grad._version) for p in params)
            fresh = state != self._grad_seen.get(layer) and any(g is not None for g in state)
            self._grad_seen[layer] = state
            if fresh and any(bool(p.grad.ne(0).any()) for p in params if p.grad is not None):
                fresh_any = True
        if not (whole or seen):
            return
        if fresh_any or self._fired:
            self._hook_checks += 1
        # Only when no hook ran at all: a layer alone can be silent legitimately, its weights used by its
        # parent's forward rather than its own (nn.MultiheadAttention's out_proj).
        if fresh_any and not self._fired:
            self._hook_checks = HOOK_CHECKS  # said once
            self.failures.append((None, HOOKS, SILENT_HOOKS))

    def detach(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        self.attached = False
        self._hooked = set()
        self._hooks_whole_step = False
        self.module_flags = []
        self._activity = {}

    def _finite_hook(self, name: str) -> Callable[..., None]:
        @_never_raises
        def hook(_m: nn.Module, _inp: Any, out: Any) -> None:
            if self.enabled() and isinstance(out, torch.Tensor) and out.is_floating_point():
                # A sum is NaN/Inf exactly when some element is (or when it overflows, which is where
                # the values are headed anyway): one pass without a boolean temporary.
                self.module_flags.append((name, out.detach().sum()))

        return hook

    def _feeder_hook(self, layer: Optional[str]) -> Callable[..., None]:
        def hook(_m: nn.Module, *_: Any) -> None:
            self._current = layer  # None: a new forward pass, or a layer of another optimizer's run

        return hook

    def _counting(self, kind: str, hook: Callable[[Optional[str], Any], None]) -> Callable[..., None]:
        """A dead/saturated count that raises on a layer's output is switched off for that layer alone,
        and the failure kept for the monitor to say once; the model's forward pass never sees it."""

        def safe(_m: nn.Module, _inp: Any, out: Any) -> None:
            layer = self._current
            if (layer, kind) in self._off:
                return
            try:
                hook(layer, out)
            except Exception as e:  # noqa: BLE001
                if layer is None:
                    return
                self._off.add((layer, kind))
                why = "its values are complex, which have no order" if isinstance(out, torch.Tensor) and out.is_complex() else reason_of(e)
                self.failures.append((layer, "dead-unit count" if kind == "dead" else "saturated-unit count", why))

        return safe

    def take_failures(self) -> List[Tuple[str, str, str]]:
        failures, self.failures = self.failures, []
        return failures

    def _dead_hook(self) -> Callable[..., None]:
        def hook(layer: Optional[str], out: Any) -> None:
            # The batch size travels with the step (facts.batchSize): too few examples say nothing about a dead unit.
            if layer is not None and self.enabled() and isinstance(out, torch.Tensor) and out.dim() >= 2:
                self.batch_rows = int(out.shape[0])
                active = _unit_active(out.detach())
                if active is not None:
                    # The count of active units; the fraction 1 − count/units is taken on the host
                    # (the same correctly rounded division as the float64 mean on the device).
                    self._activity[(layer, "dead")] = (active.sum(), active.numel())

        return self._counting("dead", hook)

    def _sat_hook(self, sigmoid: bool) -> Callable[..., None]:
        # As the engine (src/engine/nn/activations.ts SATURATION): a unit is saturated where its slope
        # is nearly flat, judged on the output: sigmoid outside [0.01, 0.99], tanh with |y| > 0.99.
        def hook(layer: Optional[str], out: Any) -> None:
            if layer is not None and self.enabled() and isinstance(out, torch.Tensor) and out.numel():
                y = out.detach()
                flat = ((y < 0.01) | (y > 0.99)) if sigmoid else (y.abs() > 0.99)
                self._activity[(layer, "saturated")] = (flat.sum(), flat.numel())

        return self._counting("saturated", hook)

    def take(self) -> Tuple[List[Tuple[str, torch.Tensor]], List[Tuple[str, str, torch.Tensor, int]]]:
        """The flags and the activity counts gathered since the last step, in execution order; then
        reset. Each activity entry is (layer, kind, count tensor, units): the fraction is count/units
        (dead: 1 − active/units)."""
        flags = self.module_flags
        act = [(layer, kind, t, n) for (layer, kind), (t, n) in self._activity.items()]
        self.module_flags = []
        self._activity = {}
        return flags, act

    def take_host(self) -> List[Tuple[str, str, float, int]]:
        """As take(), with the counts on the host (one transfer): what the helper process is sent."""
        _, act = self.take()
        if not act:
            return []
        counts = torch.stack([a[2] for a in act]).tolist()
        return [(a[0], a[1], float(c), a[3]) for a, c in zip(act, counts)]

    def capture_inputs(self) -> None:
        """Keeps a reference to the last inputs of each root module (no copy), for replay_first_nonfinite."""
        def pre(mod: nn.Module, args: Any) -> None:
            self._inputs = [(m, a) for m, a in self._inputs if m is not mod] + [(mod, args)]

        for root in self.roots:
            if id(root) not in self._unhookable:
                try:
                    self._capture_handles.append(root.register_forward_pre_hook(pre))
                except Exception:  # noqa: BLE001 - a TorchScript root: no replay (said already at attach)
                    pass

    def replay_first_nonfinite(self) -> Optional[str]:
        """Runs the last forward pass again (no grad, random state and buffers restored) with the
        finiteness hooks on, and returns the first module whose output was NaN/Inf."""
        if not self._inputs:
            return None
        flags: List[Tuple[str, torch.Tensor]] = []
        probe = ActivityProbe.__new__(ActivityProbe)
        probe.enabled = lambda: True
        probe.module_flags = flags
        handles = [mod.register_forward_hook(probe._finite_hook(name)) for mod, name, _ in self._plan
                   if not any(True for _ in mod.children()) and id(mod) not in self._unhookable]
        rng = torch.get_rng_state()
        buffers = [(b, b.detach().clone()) for root, _ in self._inputs for b in root.buffers()]
        inputs = self._inputs
        try:
            with torch.no_grad():
                for root, args in inputs:
                    root(*args)
        except Exception:  # noqa: BLE001 - a forward that needs keyword arguments: no module named
            pass
        finally:
            for h in handles:
                h.remove()
            torch.set_rng_state(rng)  # dropout in the replay must not change the script's random stream
            with torch.no_grad():
                for b, copy in buffers:
                    b.copy_(copy)
            self._inputs = inputs
        for name, flag in flags:
            if not torch.isfinite(flag).item():
                return name
        return None

    def close(self) -> None:
        for h in self._handles + self._capture_handles:
            h.remove()
        self._handles = []
        self.attached = False
        self._hooked = set()
        self._hooks_whole_step = False
        self._capture_handles = []
        self._inputs = []
