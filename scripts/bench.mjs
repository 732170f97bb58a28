// `npm run bench`: bundles bench/main.ts the way the engine ships (esbuild, one scope-hoisted CommonJS
// file, as dist/cli.js) and runs it. Running the TypeScript through tsx instead would measure tsx's
// per-module export getters on every cross-module call, a cost users never pay.
// Options: `npm run bench -- --quick` (fewer repeats), `--only engine,curvature,...`, `--entry bench/profile.ts`.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const entryAt = args.indexOf('--entry');
const entry = entryAt >= 0 ? args.splice(entryAt, 2)[1] : 'bench/main.ts';
// Inside node_modules so that the bundle's external packages resolve from the repository.
const outDir = join(root, 'node_modules', '.cache', 'optiscope-bench');
mkdirSync(outDir, { recursive: true });
const outfile = join(outDir, entry.replace(/[\\/]/g, '_').replace(/\.ts$/, '.cjs'));
await esbuild.build({
  entryPoints: [join(root, entry)],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // tfjs' ESM files import without extensions, which Node cannot load: bundle it; keep tools external.
  external: ['playwright-core', 'esbuild', 'fsevents'],
  sourcemap: 'linked',
  logLevel: 'warning',
});
// The fix verifier's process entry beside the bundle, where src/engine/fixes/process.ts (and bench/counterfactual.ts) look for it.
await esbuild.build({
  entryPoints: [join(root, 'src/engine/fixes/worker.ts')],
  outfile: join(outDir, 'fix-verifier.js'),
  bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'warning',
});
const nodeFlags = ['--expose-gc', '--enable-source-maps'];
const profile = args.indexOf('--cpu-prof');
if (profile >= 0) nodeFlags.push(...args.splice(profile, 1), '--cpu-prof-dir', join(outDir, 'profiles'));
const r = spawnSync(process.execPath, [...nodeFlags, outfile, ...args], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, OPTISCOPE_BENCH_ROOT: root, NODE_OPTIONS: '' },
});
process.exit(r.status ?? 1);
