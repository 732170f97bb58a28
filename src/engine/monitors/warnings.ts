/**
 * Deduplicated warnings. Each (kind, layer) is one slot with id `kind` or `kind:layer`. A condition
 * must hold on `persist` consecutive evaluations before it is reported (one noisy step is not a
 * verdict); a live warning is re-sent only when its evidence changes materially, and is resolved
 * (status "resolved") after the condition has been absent for `resolveAfter` evaluations.
 */
import type { Fix, OptiscopeEvent, Severity, WarningEvent, WarningKind } from '../protocol';

export type Evidence = WarningEvent['evidence'];

export interface Finding {
  kind: WarningKind;
  layer?: string;
  severity: Severity;
  message: string;
  evidence: Evidence;
  fix?: Fix;
  why: string;
  /** Evidence fields whose material change re-sends a live warning (default: every numeric field). */
  key?: readonly string[];
}

interface Slot {
  hits: number;
  misses: number;
  live: boolean;
  last: Finding | null;
  lastSentStep: number;
}

export interface BoardOptions {
  run: string;
  emit: (event: OptiscopeEvent) => void;
  persist: number;
  resolveAfter: number;
  materialChange: number;
  /** Fewest steps between two updates of one live warning. */
  minUpdateGap: number;
  /** True for a fix the config already holds: such a fix would change nothing and is not offered. */
  isNoop?: (fix: Fix) => boolean;
}

/** Each (kind, layer)'s id, built once: the board looks slots up several times a step per layer. */
const LAYER_IDS = new Map<WarningKind, Map<string, string>>();

export function warningId(kind: WarningKind, layer?: string): string {
  if (!layer) return kind;
  let ids = LAYER_IDS.get(kind);
  if (!ids) LAYER_IDS.set(kind, (ids = new Map()));
  let id = ids.get(layer);
  // A new string's hash is computed on each lookup of a Map keyed by strings; an interned one keeps it.
  if (id === undefined) ids.set(layer, (id = `${kind}:${layer}`));
  return id;
}

export class WarningBoard {
  private readonly slots = new Map<string, Slot>();
  private readonly raised = new Set<WarningKind>();
  /** How many slots are live: a healthy run has none, and anyLive, asked several times a step, then answers at once. */
  private live = 0;

  constructor(private readonly o: BoardOptions) {}

  /**
   * One evaluation of a condition: `finding` when it holds now, null when it was checked and does not.
   * `persist` overrides the default number of consecutive holds needed (1 = report at once).
   */
  observe(kind: WarningKind, layer: string | undefined, finding: Finding | null, step: number, persist = this.o.persist): void {
    // A condition that does not hold changes nothing on a board without slots (a healthy run's, every
    // step): answered without building the id or looking it up (several lookups a step per layer otherwise).
    if (finding === null && this.slots.size === 0) return;
    const id = warningId(kind, layer);
    let slot = this.slots.get(id);
    if (!slot) {
      if (!finding) return;
      slot = { hits: 0, misses: 0, live: false, last: null, lastSentStep: -Infinity };
      this.slots.set(id, slot);
    }
    if (finding) {
      slot.hits++;
      slot.misses = 0;
      if (!slot.live) {
        if (slot.hits >= persist) {
          slot.live = true;
          this.live++;
          this.send(id, slot, finding, step, 'active');
        }
      } else if (this.changed(slot.last, finding) && step - slot.lastSentStep >= this.o.minUpdateGap) {
        this.send(id, slot, finding, step, 'active');
      }
    } else {
      slot.hits = 0;
      slot.misses++;
      if (slot.live && slot.misses >= this.o.resolveAfter) {
        slot.live = false;
        this.live--;
        const last = slot.last as Finding;
        this.send(id, slot, { ...last, severity: 'info', message: `Resolved: ${last.message}` }, step, 'resolved');
      }
    }
  }

  /** Is the warning of this kind and layer live? */
  isLive(kind: WarningKind, layer?: string): boolean {
    if (this.live === 0) return false;
    return this.slots.get(warningId(kind, layer))?.live ?? false;
  }

  /** Resolves a live warning now: for conditions whose end is unambiguous (a saddle left behind). */
  resolve(kind: WarningKind, layer: string | undefined, step: number): void {
    const id = warningId(kind, layer);
    const slot = this.slots.get(id);
    if (!slot?.live || !slot.last) return;
    slot.live = false;
    this.live--;
    slot.hits = 0;
    slot.misses = this.o.resolveAfter;
    this.send(id, slot, { ...slot.last, severity: 'info', message: `Resolved: ${slot.last.message}` }, step, 'resolved');
  }

  /**
   * The run's layers changed (the bridge's `layout` fact): a verdict on a layer that is gone is resolved now,
   * and a condition still accumulating on one is forgotten.
   */
  forgetLayersExcept(layers: ReadonlySet<string>, step: number): void {
    for (const [id, s] of [...this.slots]) {
      const layer = s.last?.layer;
      if (layer === undefined || layers.has(layer)) continue;
      if (s.live && s.last) this.resolve(s.last.kind, layer, step);
      else this.slots.delete(id);
    }
  }

  /** The finding behind a live warning (its evidence, as last sent), or undefined. */
  liveFinding(kind: WarningKind, layer?: string): Finding | undefined {
    if (this.live === 0) return undefined;
    const s = this.slots.get(warningId(kind, layer));
    return s?.live && s.last ? s.last : undefined;
  }

  /** Is any warning of this kind live (on any layer)? */
  anyLive(kind: WarningKind): boolean {
    if (this.live === 0) return false;
    for (const [id, s] of this.slots) if (s.live && (id === kind || id.startsWith(`${kind}:`))) return true;
    return false;
  }

  /** Layer of the live warning of `kind`, if one is live ('' for a warning without a layer). */
  liveLayer(kind: WarningKind): string | undefined {
    if (this.live === 0) return undefined;
    for (const [id, s] of this.slots) {
      if (!s.live) continue;
      if (id === kind) return '';
      if (id.startsWith(`${kind}:`)) return id.slice(kind.length + 1);
    }
    return undefined;
  }

  activeKinds(): WarningKind[] {
    const kinds = new Set<WarningKind>();
    for (const s of this.slots.values()) if (s.live && s.last) kinds.add(s.last.kind);
    return [...kinds];
  }

  /** Every kind reported at least once in this run (live or since resolved). */
  raisedKinds(): WarningKind[] {
    return [...this.raised];
  }

  private changed(prev: Finding | null, next: Finding): boolean {
    // The fix's path, not its value: a suggested lr recomputed from each probe is not news.
    if (!prev || prev.severity !== next.severity || prev.fix?.path !== next.fix?.path) return true;
    for (const [k, v] of Object.entries(next.evidence)) {
      if (next.key && !next.key.includes(k)) continue;
      const p = prev.evidence[k];
      if (typeof v === 'number' && typeof p === 'number') {
        if (Number.isFinite(v) !== Number.isFinite(p)) return true;
        // Material: a sign change, or a factor of more than 1 + materialChange either way.
        const a = Math.abs(p), b = Math.abs(v);
        if (Math.sign(p) !== Math.sign(v)) return true;
        if (Math.max(a, b) > (1 + this.o.materialChange) * Math.min(a, b)) return true;
      } else if (typeof v === 'string' || typeof v === 'boolean') {
        if (v !== p) return true;
      }
    }
    return false;
  }

  private send(id: string, slot: Slot, f: Finding, step: number, status: 'active' | 'resolved'): void {
    if (status === 'active') {
      slot.last = f;
      this.raised.add(f.kind);
    }
    slot.lastSentStep = step;
    const event: WarningEvent = {
      type: 'warning', run: this.o.run, step, kind: f.kind, severity: f.severity, message: f.message,
      evidence: finiteEvidence(f.evidence), id, status, why: f.why,
    };
    if (f.layer) event.layer = f.layer;
    if (f.fix && status === 'active' && !this.o.isNoop?.(f.fix)) event.fix = f.fix;
    this.o.emit(event);
  }
}

/**
 * Evidence as it goes out: a number that is not finite (a quantity that does not apply, or a loss that
 * overflowed) is left out rather than shown as NaN or Infinity on a card.
 */
export function finiteEvidence(e: Evidence): Evidence {
  const out: Evidence = {};
  for (const [k, v] of Object.entries(e)) {
    if (typeof v === 'number' && !Number.isFinite(v)) continue;
    if (Array.isArray(v) && v.some((x) => !Number.isFinite(x))) continue;
    out[k] = v;
  }
  return out;
}
