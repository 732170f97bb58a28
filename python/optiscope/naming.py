"""Naming an optimizer's parameters after the modules that own them.

Per-layer statistics are per owning submodule: the module that holds a parameter directly
(`fc1.weight` → layer `fc1`, `net.0.bias` → layer `net.0`). Modules are found among those created
while Optiscope was watching (zero-code mode) or handed to `watch` (explicit mode).
"""
import inspect
import re
import sys
import weakref
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

import torch
from torch import nn

from .source import display_path, is_user_file

Location = Tuple[str, int]

# Every module created while the hooks are installed, with the line of user code that created it.
_created: "weakref.WeakKeyDictionary[nn.Module, Optional[Location]]" = weakref.WeakKeyDictionary()
_WRAPPERS = ("DistributedDataParallel", "DataParallel", "FullyShardedDataParallel")


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


@dataclass
class Layout:
    layers: List[Layer]
    root_modules: List[nn.Module] = field(default_factory=list)

    @property
    def parameters(self) -> int:
        return sum(p.numel() for layer in self.layers for p in layer.params)


def _roots(candidates: Iterable[nn.Module], ids: Dict[int, torch.Tensor]) -> List[nn.Module]:
    mods = [m for m in candidates if isinstance(m, nn.Module)]
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


def build_layout(params: List[torch.Tensor], candidates: Iterable[nn.Module]) -> Layout:
    ids: Dict[int, torch.Tensor] = {id(p): p for p in params}
    roots = [_unwrap(r) for r in _roots(candidates, ids)]
    multi = len(roots) > 1
    layers: List[Layer] = []
    by_name: Dict[str, Layer] = {}
    assigned: set = set()
    used_labels: Dict[str, int] = {}
    for root in roots:
        label = ""
        if multi:
            base = type(root).__name__.lower()
            used_labels[base] = used_labels.get(base, 0) + 1
            label = base if used_labels[base] == 1 else f"{base}{used_labels[base]}"
        for mod_name, mod in root.named_modules():
            for pname, p in mod.named_parameters(recurse=False):
                if id(p) not in ids or id(p) in assigned:
                    continue
                assigned.add(id(p))
                lname = ".".join(x for x in (label, mod_name) if x) or type(root).__name__
                layer = by_name.get(lname)
                if layer is None:
                    layer = Layer(lname, [], [], mod, module_source(root, mod_name))
                    by_name[lname] = layer
                    layers.append(layer)
                layer.params.append(p)
                layer.param_names.append(".".join(x for x in (label, mod_name, pname) if x))
    loose = [p for p in params if id(p) not in assigned]
    if loose:
        layer = Layer("params", loose, [f"params.{i}" for i in range(len(loose))], None)
        layers.append(layer)
    return Layout(layers, roots)


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


def module_info(module: Optional[nn.Module]) -> Optional[Dict[str, object]]:
    """The type of the module that owns a layer's parameters, and its input/output sizes where the
    type has them (`{"type": "Linear", "in": 10, "out": 32}`). A fact for the extension to format;
    None for parameters owned by no module."""
    if module is None:
        return None
    info: Dict[str, object] = {"type": type(module).__name__}
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
