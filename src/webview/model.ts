/**
 * The panel's data model: DOM-free, so it is unit-tested in Node. It ingests validated events of
 * several logs and runs (a race has one run per optimizer; a DDP run has one stream per rank) and keeps
 * only what the charts draw, in bounded series (series.ts): memory stays flat over millions of steps
 * while the full data lives in the run log.
 */
import type {
  EndEvent,
  ErrorEvent,
  FactEvent,
  HessianEvent,
  InfoEvent,
  LandscapeEvent,
  OptiscopeEvent,
  StartEvent,
  StepEvent,
  WarningEvent,
} from '../engine/protocol';
import type { RunStateMessage, ReplayLog } from './messages';
import { BoundedPath, DecimatedSeries } from './series';

export interface SpectrumData {
  step: number;
  nodes: number[];
  weights: number[];
  trace: number | undefined;
  traceStdErr: number;
  /** Bumped on every new spectrum, for redraw signatures. */
  version: number;
}

/** Layers whose block curvature a run keeps (a cap like the other per-run collections). */
const MAX_LAYER_CURVATURE = 64;

export interface LayerSeries {
  name: string;
  /** Position in the network (0 = input side), for the depth palette. */
  depth: number;
  gradNorm: DecimatedSeries;
  /** ‖Δw‖ / ‖w‖ per step. */
  updateRatio: DecimatedSeries;
  lrP50: DecimatedSeries;
  lrMin: DecimatedSeries;
  lrMax: DecimatedSeries;
  deadFraction: DecimatedSeries;
  /** Parameters whose gradient was exactly zero at the last step: left out of the lr band (counted apart). */
  zeroGrad: number;
}

export interface SaddleMark {
  step: number;
  lambdaMin: number;
}

export interface RunData {
  key: string;
  logId: string;
  run: string;
  rank: number | undefined;
  /** The optimizer's name: the colour key shared by all charts. */
  optimizer: string;
  colorIndex: number;
  start: StartEvent | undefined;
  end: EndEvent | undefined;
  loss: DecimatedSeries;
  valLoss: DecimatedSeries;
  gradNorm: DecimatedSeries;
  lr: DecimatedSeries;
  layers: LayerSeries[];
  lambdaMax: DecimatedSeries;
  lambdaMin: DecimatedSeries;
  /** 2/lr at the steps of curvature probes: gradient descent is unstable where λ_max exceeds it. */
  stability: DecimatedSeries;
  /**
   * The sharpness that meets this optimizer's edge, and that edge, at each probe: λ_max(P⁻¹H) for
   * adaptive optimizers (hessian.preconditioned), raw λ_max against its edge for the SGD family.
   */
  sharpness: DecimatedSeries;
  sharpnessEdge: DecimatedSeries;
  /** True once a probe carried preconditioned sharpness (an adaptive optimizer). */
  preconditioned: boolean;
  /** The latest on-demand spectrum (hessian.spectrum): SLQ nodes and weights, Hutchinson trace. */
  spectrum: SpectrumData | undefined;
  /** λ_max of each layer's Hessian block at the probes that measured it, in layer order. */
  layerCurvature: { name: string; lambdaMax: DecimatedSeries }[];
  saddles: SaddleMark[];
  path: BoundedPath;
  lastStep: number;
  lastLoss: number;
  lastLr: number;
  /** Lowest loss reached: the step losses and the final full-data loss (so best ≤ final always). */
  bestLoss: number;
  bestStep: number;
  /** Steps received out of order or twice: skipped, counted. */
  outOfOrder: number;
  /** Step events seen (all of them, not only the kept ones). */
  stepsSeen: number;
  /**
   * The run's layers as they are now (the start event's, or the bridge's latest `layout` fact when the
   * script changed them mid-run): their modules, for the labels.
   */
  layout: StartEvent['layers'];
}

export interface WarningCard {
  /** Stable identity: the event's `id`, else (log, run, kind, layer). */
  key: string;
  logId: string;
  event: WarningEvent;
  firstStep: number;
  /** How many events updated this slot. */
  count: number;
  resolved: boolean;
}

export interface RankingRow {
  rank: number;
  key: string;
  run: string;
  optimizer: string;
  colorIndex: number;
  finalLoss: number;
  bestLoss: number;
  bestStep: number;
  steps: number;
  reason: string;
  ended: boolean;
}

export type Section = 'runs' | 'series' | 'layers' | 'curvature' | 'warnings' | 'landscape' | 'state' | 'errors';

const MAX_SADDLES = 200;
const MAX_ERRORS = 50;
const MAX_WARNINGS = 500;
const MAX_RUNS = 64;
const MAX_NOTES = 100;

export class PanelModel {
  readonly runs = new Map<string, RunData>();
  readonly warnings = new Map<string, WarningCard>();
  /** Latest landscape per log (a race shares one surface). */
  readonly landscapes = new Map<string, LandscapeEvent>();
  readonly states = new Map<string, Omit<RunStateMessage, 'type'>>();
  readonly titles = new Map<string, { title?: string; file?: string; decimated?: boolean }>();
  readonly errors: { logId: string; event: ErrorEvent }[] = [];
  /** Notes on runs (`info` events: what the monitoring could not do), shown apart from the warnings. */
  readonly notes = new Map<string, { logId: string; event: InfoEvent }>();
  private readonly colors = new Map<string, number>();
  /** Sections changed since the view last drew; the view clears it. */
  readonly dirty = new Set<Section>();
  /** Runs beyond MAX_RUNS are ignored (a hostile or broken stream cannot grow memory without bound). */
  droppedRuns = 0;

  constructor(private maxPoints = 512) {}

  setMaxPoints(n: number): void {
    this.maxPoints = n;
  }

  clear(logId?: string): void {
    if (logId === undefined) {
      this.runs.clear();
      this.warnings.clear();
      this.landscapes.clear();
      this.states.clear();
      this.titles.clear();
      this.errors.length = 0;
      this.notes.clear();
      this.colors.clear();
    } else {
      for (const [k, r] of this.runs) if (r.logId === logId) this.runs.delete(k);
      for (const [k, w] of this.warnings) if (w.logId === logId) this.warnings.delete(k);
      this.landscapes.delete(logId);
      this.states.delete(logId);
      for (let i = this.errors.length - 1; i >= 0; i--) if (this.errors[i]!.logId === logId) this.errors.splice(i, 1);
      for (const [k, n] of this.notes) if (n.logId === logId) this.notes.delete(k);
    }
    for (const s of ['runs', 'series', 'layers', 'curvature', 'warnings', 'landscape', 'state', 'errors'] as const) this.dirty.add(s);
  }

  /** Replaces everything with a replay from the extension. */
  replay(logs: ReplayLog[]): void {
    this.clear();
    for (const log of logs) {
      this.titles.set(log.logId, { title: log.title, file: log.file, decimated: log.decimated });
      this.ingest(log.logId, log.events);
      if (log.state) this.setState({ logId: log.logId, ...log.state });
    }
  }

  setState(s: Omit<RunStateMessage, 'type'>): void {
    this.states.set(s.logId, s);
    this.dirty.add('state');
  }

  ingest(logId: string, events: readonly OptiscopeEvent[]): void {
    for (const e of events) this.ingestOne(logId, e);
  }

  ingestOne(logId: string, e: OptiscopeEvent): void {
    switch (e.type) {
      case 'start':
        return this.onStart(logId, e);
      case 'step':
        return this.onStep(logId, e);
      case 'hessian':
        return this.onHessian(logId, e);
      case 'warning':
        return this.onWarning(logId, e);
      case 'end':
        return this.onEnd(logId, e);
      case 'error':
        this.errors.push({ logId, event: e });
        if (this.errors.length > MAX_ERRORS) this.errors.shift();
        this.dirty.add('errors');
        return;
      case 'landscape':
        this.landscapes.set(logId, e);
        this.dirty.add('landscape');
        return;
      case 'fact':
        if (e.fact.kind === 'layout') this.onLayout(logId, e);
        return;
      case 'info': {
        // One note per (run, topic, layer): a replayed log says it once.
        const key = `${PanelModel.keyOf(logId, e.run, e.rank)}\u0000${e.topic}\u0000${e.layer ?? ''}\u0000${e.message}`;
        if (this.notes.has(key) || this.notes.size >= MAX_NOTES) return;
        this.notes.set(key, { logId, event: e });
        this.dirty.add('errors');
        return;
      }
    }
  }

  /**
   * The colour slot of a run (of a log): the same in every chart, and distinct between runs, also
   * between two logs of the same optimizer being compared. DDP ranks share their run's slot.
   */
  colorOf(logId: string, run: string): number {
    const key = `${logId}\u0000${run}`;
    let c = this.colors.get(key);
    if (c === undefined) {
      c = this.colors.size;
      this.colors.set(key, c);
    }
    return c;
  }

  /**
   * A run's name in legends, cards and tables. One log: the run (a race's optimizer). Several logs
   * (a comparison): the config's name and the run, with the start time when two logs share a config.
   */
  runLabel(r: Pick<RunData, 'logId' | 'run' | 'rank'>): string {
    const base = r.rank !== undefined ? `${r.run} · rank ${r.rank}` : r.run;
    const logs = this.logOrder();
    if (logs.length < 2) return base;
    const name = this.logName(r.logId);
    const same = logs.filter((l) => this.logName(l) === name);
    if (same.length < 2) return `${name} · ${base}`;
    const time = this.logTime(r.logId);
    const times = same.map((l) => this.logTime(l));
    const distinct = time !== undefined && times.filter((t) => t === time).length === 1;
    return `${name} ${distinct ? time : `#${same.indexOf(r.logId) + 1}`} · ${base}`;
  }

  private logOrder(): string[] {
    const out: string[] = [];
    for (const r of this.runs.values()) if (!out.includes(r.logId)) out.push(r.logId);
    return out;
  }

  /** The config (or script) a log ran: `config.name`, else the file's base name, else the log's title. */
  logName(logId: string): string {
    for (const r of this.runs.values()) {
      if (r.logId !== logId || !r.start) continue;
      const n = r.start.config['name'];
      if (typeof n === 'string' && n) return n;
      if (r.start.file) return r.start.file.split(/[\\/]/).pop()!.replace(/\.optiscope\.(ya?ml|json)$|\.py$/i, '');
    }
    const t = this.titles.get(logId);
    return t?.title ?? t?.file?.split(/[\\/]/).pop() ?? logId.split(/[\\/]/).pop() ?? logId;
  }

  /** HH:MM:SS of the log's start (from `start.time`), to tell two runs of one config apart. */
  private logTime(logId: string): string | undefined {
    for (const r of this.runs.values()) {
      const t = r.logId === logId ? r.start?.time : undefined;
      if (!t) continue;
      const m = /T(\d\d:\d\d:\d\d)/.exec(t);
      if (m) return m[1];
    }
    return undefined;
  }

  static keyOf(logId: string, run: string, rank: number | undefined): string {
    return rank === undefined ? `${logId}\u0000${run}` : `${logId}\u0000${run}\u0000${rank}`;
  }

  private runFor(logId: string, run: string, rank: number | undefined, optimizer?: string): RunData | undefined {
    const key = PanelModel.keyOf(logId, run, rank);
    let r = this.runs.get(key);
    if (r) return r;
    if (this.runs.size >= MAX_RUNS) {
      this.droppedRuns++;
      return undefined;
    }
    const opt = optimizer ?? run;
    const s = (): DecimatedSeries => new DecimatedSeries(this.maxPoints);
    r = {
      key, logId, run, rank, optimizer: opt, colorIndex: this.colorOf(logId, run),
      start: undefined, end: undefined,
      loss: s(), valLoss: s(), gradNorm: s(), lr: s(), layers: [],
      lambdaMax: s(), lambdaMin: s(), stability: s(), sharpness: s(), sharpnessEdge: s(), preconditioned: false, layerCurvature: [], spectrum: undefined, saddles: [],
      path: new BoundedPath(Math.max(256, this.maxPoints * 2)),
      lastStep: -1, lastLoss: NaN, lastLr: NaN, bestLoss: Infinity, bestStep: -1,
      outOfOrder: 0, stepsSeen: 0, layout: [],
    };
    this.runs.set(key, r);
    this.dirty.add('runs');
    return r;
  }

  private onStart(logId: string, e: StartEvent): void {
    const optimizer = e.optimizer ?? optimizerFromConfig(e.config) ?? e.run;
    const key = PanelModel.keyOf(logId, e.run, e.rank);
    // A new `start` for a known run means the run restarted: its old series are stale.
    if (this.runs.has(key)) this.runs.delete(key);
    const r = this.runFor(logId, e.run, e.rank, optimizer);
    if (!r) return;
    r.start = e;
    r.layout = e.layers;
    r.layers = e.layers.map((l, depth) => this.newLayer(l.name, depth));
    this.dirty.add('runs');
  }

  /**
   * The script changed the run's layers mid-run (a param group added, a module replaced): the layers of
   * the new list come in its order (their series start at this step; one already seen keeps its past),
   * and those no longer in it keep their series, which stop here, after them.
   */
  private onLayout(logId: string, e: FactEvent): void {
    if (e.fact.kind !== 'layout') return;
    const r = this.runFor(logId, e.run, e.rank);
    if (!r) return;
    const now = e.fact.layers;
    const byName = new Map(r.layers.map((l) => [l.name, l] as const));
    const current = now.slice(0, 512).map((l) => byName.get(l.name) ?? this.newLayer(l.name, 0));
    const names = new Set(now.map((l) => l.name));
    r.layers = [...current, ...r.layers.filter((l) => !names.has(l.name))].slice(0, 512);
    r.layers.forEach((l, depth) => (l.depth = depth));
    r.layout = now;
    this.dirty.add('runs');
    this.dirty.add('layers');
  }

  private newLayer(name: string, depth: number): LayerSeries {
    const s = (): DecimatedSeries => new DecimatedSeries(this.maxPoints);
    return { name, depth, gradNorm: new DecimatedSeries(this.maxPoints, true), updateRatio: s(), lrP50: s(), lrMin: s(), lrMax: s(), deadFraction: s(), zeroGrad: 0 };
  }

  private onStep(logId: string, e: StepEvent): void {
    const r = this.runFor(logId, e.run, e.rank);
    if (!r) return;
    r.stepsSeen++;
    if (e.step <= r.lastStep) {
      r.outOfOrder++;
      return;
    }
    r.lastStep = e.step;
    r.lastLoss = e.loss;
    r.lastLr = e.lr;
    if (e.loss < r.bestLoss) {
      r.bestLoss = e.loss;
      r.bestStep = e.step;
    }
    const x = e.step;
    r.loss.push(x, e.loss);
    r.gradNorm.push(x, e.gradNorm);
    r.lr.push(x, e.lr);
    if (e.valLoss !== undefined) r.valLoss.push(x, e.valLoss);
    for (let i = 0; i < e.layers.length; i++) {
      const l = e.layers[i]!;
      let ls: LayerSeries | undefined = r.layers[i];
      if (!ls || ls.name !== l.name) ls = r.layers.find((q) => q.name === l.name);
      if (!ls) {
        if (r.layers.length >= 512) continue;
        ls = this.newLayer(l.name, r.layers.length);
        r.layers.push(ls);
        this.dirty.add('runs');
      }
      ls.gradNorm.push(x, l.gradNorm);
      ls.updateRatio.push(x, l.weightNorm > 0 ? l.updateNorm / l.weightNorm : NaN);
      ls.lrP50.push(x, l.effectiveLr.p50);
      ls.lrMin.push(x, l.effectiveLr.min);
      ls.lrMax.push(x, l.effectiveLr.max);
      ls.zeroGrad = l.zeroGrad ?? 0;
      if (l.deadFraction !== undefined) ls.deadFraction.push(x, l.deadFraction);
    }
    if (e.params && e.params.length === 2) r.path.push(e.params[0]!, e.params[1]!);
    this.dirty.add('series');
    if (e.layers.length) this.dirty.add('layers');
  }

  private onHessian(logId: string, e: HessianEvent): void {
    const r = this.runFor(logId, e.run, e.rank);
    if (!r) return;
    r.lambdaMax.push(e.step, e.lambdaMax);
    r.lambdaMin.push(e.step, e.lambdaMin);
    const lr = Number.isFinite(r.lastLr) ? r.lastLr : lrFromConfig(r.start?.config);
    if (lr !== undefined && lr > 0) r.stability.push(e.step, 2 / lr);
    if (e.preconditioned) {
      if (!r.preconditioned) {
        // An adaptive run: the raw start probe (before its first update) does not meet this edge.
        r.sharpness = new DecimatedSeries(this.maxPoints);
        r.sharpnessEdge = new DecimatedSeries(this.maxPoints);
      }
      r.preconditioned = true;
      r.sharpness.push(e.step, e.preconditioned.lambdaMax);
      r.sharpnessEdge.push(e.step, e.preconditioned.edge);
    } else if (!r.preconditioned) {
      // Raw λ_max against the SGD family's edge; a log without it (older, or the bridge) gets 2/lr.
      r.sharpness.push(e.step, e.lambdaMax);
      const edge = e.lambdaEdge ?? (lr !== undefined && lr > 0 ? 2 / lr : undefined);
      if (edge !== undefined) r.sharpnessEdge.push(e.step, edge);
    }
    for (const l of e.layers ?? []) {
      let series = r.layerCurvature.find((x) => x.name === l.name);
      if (!series) {
        if (r.layerCurvature.length >= MAX_LAYER_CURVATURE) continue;
        series = { name: l.name, lambdaMax: new DecimatedSeries(this.maxPoints) };
        r.layerCurvature.push(series);
      }
      series.lambdaMax.push(e.step, l.lambdaMax);
    }
    if (e.layers?.length) this.dirty.add('layers');
    if (e.spectrum) {
      r.spectrum = {
        step: e.step, nodes: e.spectrum.nodes, weights: e.spectrum.weights, trace: e.trace,
        traceStdErr: e.spectrum.traceStdErr, version: (r.spectrum?.version ?? 0) + 1,
      };
    }
    this.dirty.add('curvature');
  }

  private onWarning(logId: string, e: WarningEvent): void {
    const r = this.runFor(logId, e.run, e.rank);
    // Per run (and rank): a race's runs use the same ids, and one run's resolution must not close
    // another run's finding.
    const key = `${PanelModel.keyOf(logId, e.run, e.rank)}\u0000${e.id ?? `${e.kind}\u0000${e.layer ?? ''}`}`;
    const old = this.warnings.get(key);
    const resolved = e.status === 'resolved';
    if (old) {
      // A resolution keeps the evidence that made the warning (the resolved event may carry less).
      old.event = resolved ? { ...old.event, status: 'resolved', step: e.step } : e;
      old.count++;
      old.resolved = resolved;
    } else {
      if (this.warnings.size >= MAX_WARNINGS) this.evictWarning();
      this.warnings.set(key, { key, logId, event: e, firstStep: e.step, count: 1, resolved });
    }
    if (r && e.kind === 'saddle-point' && !resolved) {
      const lm = e.evidence['lambdaMin'];
      r.saddles.push({ step: e.step, lambdaMin: typeof lm === 'number' ? lm : NaN });
      if (r.saddles.length > MAX_SADDLES) r.saddles.shift();
      this.dirty.add('curvature');
    }
    this.dirty.add('warnings');
  }

  private evictWarning(): void {
    for (const [k, w] of this.warnings) {
      if (w.resolved) {
        this.warnings.delete(k);
        return;
      }
    }
    const first = this.warnings.keys().next();
    if (!first.done) this.warnings.delete(first.value);
  }

  private onEnd(logId: string, e: EndEvent): void {
    const r = this.runFor(logId, e.run, e.rank);
    if (!r) return;
    r.end = e;
    if (e.bestLoss !== undefined && e.bestLoss < r.bestLoss) {
      r.bestLoss = e.bestLoss;
      r.bestStep = e.bestStep ?? r.bestStep;
    }
    // The final loss (full data, after the last update) is a loss the run reached: "best" includes it,
    // so it can never read higher than "final".
    if (Number.isFinite(e.loss) && e.loss <= r.bestLoss) {
      r.bestLoss = e.loss;
      r.bestStep = e.steps;
    }
    this.dirty.add('runs');
  }

  /** Warnings, most severe and most recent first; resolved ones last. */
  warningCards(): WarningCard[] {
    const sev = { error: 0, warning: 1, info: 2 } as const;
    return [...this.warnings.values()].sort(
      (a, b) =>
        Number(a.resolved) - Number(b.resolved) ||
        sev[a.event.severity] - sev[b.event.severity] ||
        b.event.step - a.event.step,
    );
  }

  /**
   * The race's ranking: by final loss (lower is better), non-finite or diverged last; DDP ranks other
   * than 0 are left out (they share the run's parameters).
   */
  ranking(logId?: string): RankingRow[] {
    const rows = [...this.runs.values()]
      .filter((r) => (logId === undefined || r.logId === logId) && (r.rank === undefined || r.rank === 0) && r.stepsSeen > 0)
      .map((r) => {
        const finalLoss = r.end ? r.end.loss : r.lastLoss;
        return {
          rank: 0, key: r.key, run: r.run, optimizer: r.optimizer, colorIndex: r.colorIndex,
          finalLoss, bestLoss: r.bestLoss, bestStep: r.bestStep,
          steps: r.end ? r.end.steps : Math.max(0, r.lastStep), reason: r.end?.reason ?? 'running', ended: r.end !== undefined,
        };
      });
    const bad = (row: RankingRow): number => (Number.isFinite(row.finalLoss) && row.reason !== 'diverged' && row.reason !== 'failed' ? 0 : 1);
    rows.sort((a, b) => bad(a) - bad(b) || a.finalLoss - b.finalLoss || a.run.localeCompare(b.run));
    rows.forEach((r, i) => (r.rank = i + 1));
    return rows;
  }

  /** Runs in a stable display order (log, then first appearance). */
  runList(): RunData[] {
    return [...this.runs.values()];
  }

  /** True when some run optimises exactly two parameters (a 2-D test function): the contour view applies. */
  hasTwoD(): boolean {
    for (const r of this.runs.values()) if (r.path.length > 0 || r.start?.parameters === 2) return true;
    return this.landscapes.size > 0;
  }
}

function optimizerFromConfig(config: Record<string, unknown>): string | undefined {
  const t = config['training'];
  if (t && typeof t === 'object') {
    const o = (t as Record<string, unknown>)['optimizer'];
    if (o && typeof o === 'object') {
      const n = (o as Record<string, unknown>)['name'];
      if (typeof n === 'string') return n;
    }
  }
  return undefined;
}

function lrFromConfig(config: Record<string, unknown> | undefined): number | undefined {
  const t = config?.['training'];
  if (t && typeof t === 'object') {
    const o = (t as Record<string, unknown>)['optimizer'];
    if (o && typeof o === 'object') {
      const lr = (o as Record<string, unknown>)['lr'];
      if (typeof lr === 'number') return lr;
    }
  }
  return undefined;
}
