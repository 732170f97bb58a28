// One build for everything: the extension and the engine CLI for Node (CommonJS, `vscode` external),
// the webview for the browser. `node esbuild.mjs --watch` rebuilds on change; `--production` minifies.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** @type {esbuild.BuildOptions[]} */
const targets = [
  {
    entryPoints: { extension: 'src/extension/extension.ts' },
    platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'],
  },
  {
    entryPoints: { cli: 'src/engine/cli-main.ts' },
    platform: 'node', format: 'cjs', target: 'node20',
  },
  {
    // The fix verifier's low-priority child process (src/engine/fixes/process.ts finds it next to cli.js).
    entryPoints: { 'fix-verifier': 'src/engine/fixes/worker.ts' },
    platform: 'node', format: 'cjs', target: 'node20',
  },
  {
    entryPoints: { webview: 'src/webview/main.ts' },
    platform: 'browser', format: 'iife', target: 'es2022',
    loader: { '.css': 'css' },
  },
].filter((t) => Object.values(t.entryPoints).every((p) => existsSync(p)));

const common = {
  bundle: true,
  outdir: 'dist',
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  legalComments: 'none',
};

if (watch) {
  for (const t of targets) (await esbuild.context({ ...common, ...t })).watch();
} else {
  await Promise.all(targets.map((t) => esbuild.build({ ...common, ...t })));
}

