/** The engine's targets of issue 22 and the counterfactual section of the bench report. */
import { fmt, fmtSummary } from './stats';
import type { Results } from './report';

interface Target { target: string; met: boolean | null; value: string }

/** Every-step monitoring ≤ 1.10× the bare loop on W1–W3; a fix verification ≤ 2 s CPU, ≤ 10% on the live stream. */
export function engineTargets(r: Results): Target[] {
  const out: Target[] = [];
  for (const w of ['W1', 'W2', 'W3']) {
    const o = r.throughput[w]?.overhead;
    if (!o) continue;
    const v = o['monitors on vs bare'].median;
    out.push({ target: `engine every-step monitoring ≤ 1.10× on ${w}`, met: v <= 1.1,
      value: `${fmt(v)}× vs bare loop (${fmt(o['monitors on vs monitors off'].median)}× vs trainer with monitors off)` });
  }
  // The same in the default precision (float32); the rows above are float64.
  for (const w of ['W1', 'W2', 'W3']) {
    const v = r.throughput[w]?.overhead['float32 monitors on vs bare'];
    if (v) out.push({ target: `engine every-step monitoring ≤ 1.10× on ${w}, float32 (the default)`, met: v.median <= 1.1, value: `${fmtSummary(v)}× vs its bare loop` });
  }
  // The float32 path (training.precision: float32) against PyTorch float32, one thread, monitors on.
  for (const [w, goal] of [['W2', 0.5], ['W3', 0.25]] as const) {
    const v = r.throughput[w]?.ratios['engine float32 monitors on / torch float32'];
    if (v) out.push({ target: `engine float32 ≥ ${goal}× PyTorch float32 on ${w} (monitors on)`, met: v.median >= goal, value: `${fmtSummary(v)}×` });
  }
  const c = r.counterfactual;
  if (c) {
    out.push({ target: `fix verification of a W1-size config (${c.runs} runs × ${c.steps} steps) ≤ 2 s CPU`, met: c.cpuSeconds.median <= 2, value: `${fmtSummary(c.cpuSeconds)} s` });
    out.push({ target: 'verification slows the live stream ≤ 10%', met: c.liveSlowdown ? c.liveSlowdown.median <= 1.1 : null,
      value: c.liveSlowdown ? `${fmtSummary(c.liveSlowdown)}× wall time per live step` : String(c.note) });
  }
  return out;
}

export function renderCounterfactual(r: Results): string[] {
  const c = r.counterfactual;
  if (!c) return [];
  return [
    '### Counterfactual runs (fix verification)', '',
    '| measure | value |', '| --- | ---: |',
    `| one verification: ${c.runs} counterfactual runs (baseline + candidates) of ${c.steps} steps, W1-size config, CPU s | ${fmtSummary(c.cpuSeconds)} |`,
    `| live W1 run's wall time per step while the verifier's process (nice 19) verifies / alone | ${c.liveSlowdown ? `${fmtSummary(c.liveSlowdown)}×` : String(c.note)} |`,
    `| live steps stepped during one verification (per round) | ${c.liveSteps.join(', ') || '—'} |`,
    `| process CPU s during one verification beyond the live steps' own (the verifier's CPU is in its own process) | ${c.processCpuDuringVerification ? fmtSummary(c.processCpuDuringVerification) : '—'} |`,
    '',
  ];
}
