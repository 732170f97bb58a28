"""Naming an optimizer's parameters after the modules that own them.

Per-layer statistics are per owning submodule: the module that holds a parameter directly
(`fc1.weight` → layer `fc1`, `net.0.bias` → layer `net.0`). Modules are found among those created
while Optiscope was watching (zero-code mode) or handed to `watch` (explicit mode).

Names are what a person recognises: paths start at the outermost module the script created, prefixed
with the script's variable for it when a bare path would not say which network it is (several roots,
an `nn.Sequential`'s numbered children, a root that owns its parameters itself: `feature_net.0`,
`head.2`, `classifier`). A tensor a model class owns directly (a positional table, a class token) is a
layer of its own, named by attribute (`OrderClassifier.pos`). Parameters the optimizer holds that have
left the model since it was built (a head replaced after the optimizer) keep the name they had then,
marked `(replaced)` or `(removed)`.
"""
import inspect
import re
import sys
import weakref
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

import torch
from torch import nn

from .source import display_path, is_user_file

Location = Tuple[str, int]

# Every module created while the hooks are installed, with the line of user code that created it.
_created: "weakref.WeakKeyDictionary[nn.Module, Optional[Location]]" = weakref.WeakKeyDictionary()
_WRAPPERS = ("DistributedDataParallel", "DataParallel", "FullyShardedDataParallel")
# Modules created since the monitors last looked (relayout.py reads and clears it): a module replaced
# mid-run is news for their layers. Bounded; `recent_overflow` says more were created than kept.
RECENT_MAX = 256
recent: List["weakref.ref[nn.Module]"] = []
recent_overflow = [False]


def record_module(module: nn.Module) -> None:
    """Called from the patched Module.__init__: remember the module and where the user created it.
    Frames that belong to the module's own constructor chain (its `self`) are skipped, so a user's
    `class Net(nn.Module)` is located at `Net(...)`, not at its `super().__init__()`."""
    loc: Optional[Location] = None
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_locals.get("self") is not module and is_user_file(frame.f_code.co_filename):
            loc = (display_path(frame.f_code.co_filename), frame.f_lineno)
            break
        frame = frame.f_back
    try:
        _created[module] = loc
        if len(recent) < RECENT_MAX:
            recent.append(weakref.ref(module))
        else:
            recent_overflow[0] = True
    except TypeError:
        pass


def known_modules() -> List[nn.Module]:
    return list(_created.keys())


@dataclass
class Layer:
    name: str
    params: List[torch.Tensor]
    param_names: List[str]
    module: Optional[nn.Module]
    source: Optional[Location] = None
    path: str = ""  # the owning module's path in its root ("" for the root itself)
    own_tensor: bool = False  # a tensor a model class owns itself (positional table, token, scale): no depth
    detached: bool = False  # held by the optimizer, no longer part of the model (replaced or removed): no gradient reaches it


@dataclass
class Layout:
    layers: List[Layer]
    root_modules: List[nn.Module] = field(default_factory=list)

    @property
    def parameters(self) -> int:
        return sum(p.numel() for layer in self.layers for p in layer.params)


def _roots(candidates: Iterable[nn.Module], ids: Dict[int, torch.Tensor]) -> List[nn.Module]:
    mods = list({id(m): m for m in candidates if isinstance(m, nn.Module)}.values())
    children = {id(c) for m in mods for c in m.children()}
    roots = []
    for m in mods:
        if id(m) in children:
            continue
        if any(id(p) in ids for p in m.parameters()):
            roots.append(m)
    # Larger models first, so a parameter shared by two roots is named after the bigger one.
    roots.sort(key=lambda m: -sum(1 for _ in m.parameters()))
    return roots


def _unwrap(root: nn.Module) -> nn.Module:
    while type(root).__name__ in _WRAPPERS and isinstance(getattr(root, "module", None), nn.Module):
        root = root.module  # type: ignore[assignment]
    return root


def _attr_line(parent: nn.Module, attr: str) -> Optional[Location]:
    """Fallback for modules created before the hooks: the `self.<attr> =` line in the parent's class."""
    try:
        lines, start = inspect.getsourcelines(type(parent))
        filename = inspect.getsourcefile(type(parent))
    except (OSError, TypeError):
        return None
    if not filename or not is_user_file(filename):
        return None
    pattern = re.compile(r"self\." + re.escape(attr) + r"\s*=")
    for i, text in enumerate(lines):
        if pattern.search(text):
            return display_path(filename), start + i
    return None


def module_source(root: nn.Module, name: str) -> Optional[Location]:
    module = root.get_submodule(name) if name else root
    loc = _created.get(module)
    if loc is not None:
        return loc
    if name:
        parent_name, _, attr = name.rpartition(".")
        parent = root.get_submodule(parent_name) if parent_name else root
        found = _attr_line(parent, attr)
        if found is None and parent_name:
            return module_source(root, parent_name)
        return found
    return None


def variable_names(depth: int = 2) -> Dict[int, str]:
    """The script's names for its modules: id(module) → the variable that holds it, from the user's frames
    on the stack (innermost first, then their globals). Read when an optimizer is created and when its
    first step is taken; ids only, no references kept."""
    names: Dict[int, str] = {}
    try:
        frame: Any = sys._getframe(depth)
    except ValueError:
        return names
    scopes = []
    while frame is not None:
        if is_user_file(frame.f_code.co_filename):
            scopes.append(frame.f_locals)
            if frame.f_globals is not frame.f_locals:
                scopes.append(frame.f_globals)
        frame = frame.f_back
    for scope in scopes:
        for var, value in list(scope.items()):
            if isinstance(value, nn.Module) and var.isidentifier() and not var.startswith("_") and var != "self":
                names.setdefault(id(value), var)
    return names


def module_display_name(root: nn.Module, path: str, names: Dict[int, str]) -> str:
    """A module's path as build_layout names it (one root): with the script's variable where a bare path
    says nothing."""
    var = names.get(id(root))
    if var and (_numbered(root) or not _user_container(root)):
        return ".".join(x for x in (var, path) if x)
    return path or type(root).__name__


def _numbered(module: nn.Module) -> bool:
    """A container whose children are numbered (Sequential, ModuleList): a bare `0` names nothing."""
    return any(name.isdigit() for name, _ in module.named_children())


def _user_container(module: nn.Module) -> bool:
    """A model class of the script's own with submodules: a tensor it owns directly (a positional table, a
    class token, a scale) is a layer of its own, not part of some `OrderClassifier` layer."""
    return next(module.children(), None) is not None and not type(module).__module__.startswith("torch.")


def build_layout(params: List[torch.Tensor], candidates: Iterable[nn.Module], names: Optional[Dict[int, str]] = None,
                 earlier: Optional["Layout"] = None) -> Layout:
    """The optimizer's parameters as layers. `names`: the script's variables (variable_names); `earlier`:
    the layout when the optimizer was created, which names the parameters that have left the model since."""
    names = names or {}
    ids: Dict[int, torch.Tensor] = {id(p): p for p in params}
    if earlier is not None:  # a submodule then, not a model of its own now that it has left its parent
        was_inside = {id(layer.module) for layer in earlier.layers if layer.path and layer.module is not None}
        candidates = [m for m in candidates if id(m) not in was_inside]
    wrapped = _roots(candidates, ids)
    roots = [_unwrap(r) for r in wrapped]
    for w, r in zip(wrapped, roots):  # `model = DistributedDataParallel(net)`: the inner network is `model`
        if id(w) in names and id(r) not in names:
            names = {**names, id(r): names[id(w)]}
    multi = len(roots) > 1
    layers: List[Layer] = []
    by_name: Dict[str, Layer] = {}
    assigned: set = set()
    used_labels: Dict[str, int] = {}

    def add(lname: str, mod: Optional[nn.Module], path: str, source: Optional[Location], p: torch.Tensor, pname: str,
            own: bool = False, detached: bool = False) -> None:
        layer = by_name.get(lname)
        if layer is None:
            layer = by_name[lname] = Layer(lname, [], [], mod, source, path, own, detached)
            layers.append(layer)
        layer.params.append(p)
        layer.param_names.append(pname)

    for root in roots:
        var = names.get(id(root))
        label = ""
        if var and (multi or _numbered(root) or not _user_container(root)):
            label = var
        elif multi:
            base = var or type(root).__name__.lower()
            used_labels[base] = used_labels.get(base, 0) + 1
            label = base if used_labels[base] == 1 else f"{base}{used_labels[base]}"
        for mod_name, mod in root.named_modules():
            container = _user_container(mod)
            for pname, p in mod.named_parameters(recurse=False):
                if id(p) not in ids or id(p) in assigned:
                    continue
                assigned.add(id(p))
                lname = ".".join(x for x in (label, mod_name) if x) or type(root).__name__
                # `OrderClassifier.pos`, `encoder.cls_token`: one layer per tensor, named by attribute. A custom
                # layer's own `weight`/`bias` (beside child modules) stay its compute layer.
                own = container and pname not in ("weight", "bias")
                if own:
                    lname = f"{lname}.{pname}"
                add(lname, mod, mod_name, module_source(root, mod_name), p, ".".join(x for x in (label, mod_name, pname) if x), own)
    loose = [p for p in params if id(p) not in assigned]
    if loose and earlier is not None:
        # Held by the optimizer but gone from the model: named as when the optimizer was built.
        before = {id(p): layer for layer in earlier.layers for p in layer.params}
        for p in loose:
            old = before.get(id(p))
            if old is None or old.module is None:
                continue
            assigned.add(id(p))
            present = any(_has_submodule(root, old.path) for root in roots) if old.path else False
            suffix = " (replaced)" if present else " (removed)"
            pname = next(n for q, n in zip(old.params, old.param_names) if q is p)
            name = old.name if old.detached else old.name + suffix  # named once, however often the layout is read again
            add(name, old.module, old.path, old.source, p, pname, old.own_tensor, True)
        loose = [p for p in loose if id(p) not in assigned]
    if loose:
        layer = Layer("params", loose, [f"params.{i}" for i in range(len(loose))], None)
        layers.append(layer)
    return Layout(layers, roots)


def _has_submodule(root: nn.Module, path: str) -> bool:
    try:
        root.get_submodule(path)
        return True
    except AttributeError:
        return False


# The sizes that identify a module of a common type: (input attribute, output attribute).
_SIZES = (
    ("in_features", "out_features"),
    ("in_channels", "out_channels"),
    ("num_embeddings", "embedding_dim"),
    ("input_size", "hidden_size"),
    ("embed_dim", "embed_dim"),
    ("num_features", "num_features"),
    ("normalized_shape", "normalized_shape"),
)


def layer_module_info(layer: Layer) -> Optional[Dict[str, object]]:
    """module_info of a layer's owner; a tensor a model class owns itself is a `Parameter` of its shape."""
    if layer.own_tensor:
        shape = "×".join(str(n) for n in layer.params[0].shape)
        return {"type": f"Parameter {shape}" if shape else "Parameter"}
    return module_info(layer.module)


def module_info(module: Optional[nn.Module]) -> Optional[Dict[str, object]]:
    """The type of the module that owns a layer's parameters, and its input/output sizes where the
    type has them (`{"type": "Linear", "in": 10, "out": 32}`). A fact for the extension to format;
    None for parameters owned by no module."""
    if module is None:
        return None
    # A TorchScript module keeps the name of the class it was compiled from (`Linear`, not RecursiveScriptModule).
    kind = getattr(module, "original_name", None) if isinstance(module, torch.jit.ScriptModule) else None
    info: Dict[str, object] = {"type": kind if isinstance(kind, str) and kind else type(module).__name__}
    for a, b in _SIZES:
        x, y = getattr(module, a, None), getattr(module, b, None)
        if isinstance(x, tuple) and len(x) == 1:
            x = x[0]
        if isinstance(y, tuple) and len(y) == 1:
            y = y[0]
        if isinstance(x, int) and isinstance(y, int):
            info["in"], info["out"] = x, y
            break
    return info
