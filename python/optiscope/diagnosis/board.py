"""Mirror of src/engine/monitors/warnings.ts: deduplicated warnings, one slot per (kind, layer)."""
import json
import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

Event = Dict[str, Any]


@dataclass
class Finding:
    kind: str
    severity: str
    message: str
    evidence: Dict[str, Any]
    why: str
    layer: Optional[str] = None
    fix: Optional[Dict[str, Any]] = None
    key: Optional[Sequence[str]] = None


@dataclass
class _Slot:
    hits: int = 0
    misses: int = 0
    live: bool = False
    last: Optional[Finding] = None
    last_sent_step: float = -math.inf


def warning_id(kind: str, layer: Optional[str]) -> str:
    return f"{kind}:{layer}" if layer else kind


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


class WarningBoard:
    def __init__(self, emit: Callable[[Event], None], persist: int, resolve_after: int, material_change: float,
                 min_update_gap: int, source_for: Callable[[Optional[str]], Optional[Tuple[str, int]]]) -> None:
        self.emit = emit
        self.persist = persist
        self.resolve_after = resolve_after
        self.material_change = material_change
        self.min_update_gap = min_update_gap
        self.source_for = source_for
        self.slots: Dict[str, _Slot] = {}
        self.raised: List[str] = []

    def observe(self, kind: str, layer: Optional[str], finding: Optional[Finding], step: int, persist: Optional[int] = None) -> None:
        persist = self.persist if persist is None else persist
        wid = warning_id(kind, layer)
        slot = self.slots.get(wid)
        if slot is None:
            if finding is None:
                return
            slot = self.slots[wid] = _Slot()
        if finding is not None:
            slot.hits += 1
            slot.misses = 0
            if not slot.live:
                if slot.hits >= persist:
                    slot.live = True
                    self._send(wid, slot, finding, step, "active")
            elif self._changed(slot.last, finding) and step - slot.last_sent_step >= self.min_update_gap:
                self._send(wid, slot, finding, step, "active")
        else:
            slot.hits = 0
            slot.misses += 1
            if slot.live and slot.misses >= self.resolve_after:
                slot.live = False
                last = slot.last
                assert last is not None
                resolved = Finding(last.kind, "info", f"Resolved: {last.message}", last.evidence, last.why, last.layer, last.fix, last.key)
                self._send(wid, slot, resolved, step, "resolved")

    def resolve(self, kind: str, layer: Optional[str], step: int) -> None:
        """Resolves a live warning now: for conditions whose end is unambiguous (a saddle left behind)."""
        wid = warning_id(kind, layer)
        slot = self.slots.get(wid)
        if slot is None or not slot.live or slot.last is None:
            return
        slot.live = False
        slot.hits = 0
        slot.misses = self.resolve_after
        last = slot.last
        resolved = Finding(last.kind, "info", f"Resolved: {last.message}", last.evidence, last.why, last.layer, last.fix, last.key)
        self._send(wid, slot, resolved, step, "resolved")

    def live_finding(self, kind: str, layer: Optional[str] = None) -> Optional[Finding]:
        """The finding behind a live warning (its evidence, as last sent), or None."""
        s = self.slots.get(warning_id(kind, layer))
        return s.last if s is not None and s.live else None

    def is_live(self, kind: str, layer: Optional[str] = None) -> bool:
        s = self.slots.get(warning_id(kind, layer))
        return bool(s and s.live)

    def any_live(self, kind: str) -> bool:
        return any(s.live and (wid == kind or wid.startswith(kind + ":")) for wid, s in self.slots.items())

    def active_kinds(self) -> List[str]:
        return sorted({s.last.kind for s in self.slots.values() if s.live and s.last})

    def _changed(self, prev: Optional[Finding], nxt: Finding) -> bool:
        if prev is None or prev.severity != nxt.severity or json.dumps(prev.fix, sort_keys=True) != json.dumps(nxt.fix, sort_keys=True):
            return True
        for k, v in nxt.evidence.items():
            if nxt.key and k not in nxt.key:
                continue
            p = prev.evidence.get(k)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and isinstance(p, (int, float)) and not isinstance(p, bool):
                fv, fp = float(v), float(p)
                if math.isfinite(fv) != math.isfinite(fp):
                    return True
                a, b = abs(fp), abs(fv)
                if _sign(fp) != _sign(fv):
                    return True
                if max(a, b) > (1 + self.material_change) * min(a, b):
                    return True
            elif isinstance(v, (str, bool)):
                if v != p:
                    return True
        return False

    def _send(self, wid: str, slot: _Slot, f: Finding, step: int, status: str) -> None:
        if status == "active":
            slot.last = f
            if f.kind not in self.raised:
                self.raised.append(f.kind)
        slot.last_sent_step = step
        event: Event = {"type": "warning", "step": step, "kind": f.kind, "severity": f.severity, "message": f.message,
                        "evidence": {k: v for k, v in f.evidence.items() if not (isinstance(v, float) and not math.isfinite(v))}, "id": wid, "status": status, "why": f.why}
        if f.layer:
            event["layer"] = f.layer
        if f.fix and status == "active":
            event["fix"] = f.fix
        loc = self.source_for(f.layer)
        if loc is not None and loc[1] >= 1:
            event["source"] = {"file": loc[0], "line": loc[1]}
        self.emit(event)
