/**
 * The webview's side of the channel to the extension: `acquireVsCodeApi` (callable once per page),
 * typed posting of the whitelisted messages, and the persisted view options (getState/setState survive
 * the panel being hidden and the window reloading; the data itself is replayed by the extension).
 */
import type { FromWebview } from './messages';
import { SCALE_PREFS, type ScalePref } from './axes';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

export type TabId = 'training' | 'layers' | 'curvature' | 'landscape' | 'race';
export const TABS: readonly TabId[] = ['training', 'layers', 'curvature', 'landscape', 'race'];

/** Line charts whose y scale the user can choose. */
export type ScaledChart = 'loss' | 'grad' | 'flowLines' | 'efflr' | 'ratio';
export const SCALED_CHARTS: readonly ScaledChart[] = ['loss', 'grad', 'flowLines', 'efflr', 'ratio'];

export interface ViewState {
  tab: TabId;
  /** The user's y-scale choice per chart (absent: `auto`, decided from the data). */
  scales: Partial<Record<ScaledChart, ScalePref>>;
  /** Run key shown in the per-layer charts (undefined: the first run). */
  selectedRun: string | undefined;
  /** Gradient flow as a heatmap (true) or one line per layer (false). */
  flowHeatmap: boolean;
  showResolved: boolean;
}

export const DEFAULT_VIEW: ViewState = { tab: 'training', scales: {}, selectedRun: undefined, flowHeatmap: true, showResolved: false };

/** Accepts only a well-formed saved state (it comes from storage a previous version may have written). */
export function restoreView(saved: unknown): ViewState {
  const v: ViewState = { ...DEFAULT_VIEW, scales: {} };
  if (!saved || typeof saved !== 'object') return v;
  const s = saved as Record<string, unknown>;
  if (typeof s['tab'] === 'string' && (TABS as readonly string[]).includes(s['tab'])) v.tab = s['tab'] as TabId;
  const scales = s['scales'];
  if (scales && typeof scales === 'object') {
    for (const id of SCALED_CHARTS) {
      const p = (scales as Record<string, unknown>)[id];
      if (typeof p === 'string' && (SCALE_PREFS as readonly string[]).includes(p)) v.scales[id] = p as ScalePref;
    }
  }
  // An earlier version saved only the loss chart's log checkbox.
  if (s['logScale'] === false && v.scales.loss === undefined) v.scales.loss = 'linear';
  if (typeof s['selectedRun'] === 'string') v.selectedRun = s['selectedRun'];
  if (typeof s['flowHeatmap'] === 'boolean') v.flowHeatmap = s['flowHeatmap'];
  if (typeof s['showResolved'] === 'boolean') v.showResolved = s['showResolved'];
  return v;
}

export class Host {
  private readonly api: VsCodeApi | undefined;

  constructor() {
    // Outside VS Code (a plain browser) there is no API; the panel still renders what it is sent.
    this.api = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;
  }

  post(msg: FromWebview): void {
    this.api?.postMessage(msg);
  }

  loadView(): ViewState {
    return restoreView(this.api?.getState());
  }

  saveView(v: ViewState): void {
    this.api?.setState({ ...v, scales: { ...v.scales } });
  }
}
