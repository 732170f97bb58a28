/**
 * The race picker: which optimizers to race on a config or a PyTorch script, each shown with the
 * hyperparameters it will use (the file's own optimizer keeps its own; the others start from PyTorch's
 * defaults), and a second step to edit any of them before the race starts. Returns the `--race`
 * entries, or undefined. On a script each entry is a run of the script with its optimizer replaced.
 */
import * as vscode from 'vscode';
import { baseSpec, formatRaceEntry, parseRaceEntry, RaceEntryError } from '../engine/cli/raceEntry';
import type { ResolvedConfig } from '../engine/config/types';
import { OPTIMIZERS, OPTIMIZER_NAMES } from '../engine/optim/catalog';

const hyper = (entry: string) => entry.split(' ').slice(1).join(' ');

export async function pickRace(config: ResolvedConfig | undefined, subject: 'config' | 'script' = 'config'): Promise<string[] | undefined> {
  const own = config?.training.optimizer.name;
  const defaults = new Set(['sgd', 'momentum', 'adam', ...(own ? [own] : [])]);
  const picks = await vscode.window.showQuickPick(
    OPTIMIZER_NAMES.map((name) => ({
      label: name,
      description: hyper(formatRaceEntry(baseSpec(name, config))),
      detail: `${OPTIMIZERS[name].torch}${name === own ? ` · the ${subject}’s own optimizer` : ''}`,
      picked: defaults.has(name),
    })),
    { canPickMany: true, title: 'Optiscope: Race Optimizers (1/2)', placeHolder: subject === 'config'
      ? 'Optimizers to race on this config (same start, init and batches); next: check or edit their hyperparameters'
      : 'Optimizers to race on this script (one run of it each, its optimizer replaced); next: check or edit their hyperparameters' },
  );
  if (!picks) return undefined;
  if (picks.length < 2) {
    void vscode.window.showWarningMessage('Optiscope: pick at least two optimizers to race.');
    return undefined;
  }
  const entries = picks.map((p) => formatRaceEntry(baseSpec(p.label as (typeof OPTIMIZER_NAMES)[number], config)));
  for (;;) {
    const start = { label: '$(play) Start race', description: `${entries.length} optimizers`, index: -1 };
    const choice = await vscode.window.showQuickPick(
      [start, ...entries.map((e, index) => ({ label: e.split(' ')[0], description: hyper(e), detail: 'Edit hyperparameters…', index }))],
      { title: 'Optiscope: Race Optimizers (2/2)', placeHolder: 'Start the race, or pick an optimizer to edit its hyperparameters' },
    );
    if (!choice) return undefined;
    if (choice.index < 0) return entries;
    const edited = await vscode.window.showInputBox({
      title: `Optiscope: ${choice.label}'s hyperparameters`,
      prompt: 'name, then key=value pairs (e.g. adam lr=0.01 beta1=0.8)',
      value: entries[choice.index],
      validateInput: (t) => {
        try {
          parseRaceEntry(t, config);
          return undefined;
        } catch (e) {
          return e instanceof RaceEntryError ? e.message : String(e);
        }
      },
    });
    if (edited !== undefined) entries[choice.index] = formatRaceEntry(parseRaceEntry(edited, config));
  }
}
