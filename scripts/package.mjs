// `npm run package`: a production build, then `optiscope-<version>.vsix` in the repository root through
// the @vscode/vsce API (no node_modules: everything is bundled). Afterwards the VSIX's file list is
// checked: the bundles, the Python bridge and the shipped data must be in it; sources, source maps and
// node_modules must not.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createVSIX } from '@vscode/vsce';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const out = join(root, `${pkg.name}-${pkg.version}.vsix`);

function fail(msg) {
  console.error(`package: ${msg}`);
  process.exit(1);
}

const build = spawnSync(process.execPath, ['esbuild.mjs', '--production'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) fail('the production build failed');
for (const f of ['dist/extension.js', 'dist/cli.js', 'dist/webview.js', 'dist/webview.css', 'media/icon.png']) {
  if (!existsSync(join(root, f))) fail(`${f} is missing after the build`);
}

await createVSIX({
  cwd: root,
  packagePath: out,
  dependencies: false,
  // No public repository URL yet: README links stay relative (they resolve inside the VSIX).
  allowMissingRepository: !pkg.repository,
  rewriteRelativeLinks: !!pkg.repository,
  skipLicense: !['LICENSE', 'LICENSE.md', 'LICENSE.txt'].some((f) => existsSync(join(root, f))),
});

// Check what went in (unzip -Z1 lists entry names; the VSIX is a zip).
const list = spawnSync('unzip', ['-Z1', out], { encoding: 'utf8' });
if (list.status === 0) {
  const files = list.stdout.split('\n').filter(Boolean).map((f) => f.replace(/^extension\//, ''));
  const bad = files.filter((f) => /(^|\/)node_modules\//.test(f) || /\.map$/.test(f) || /^(src|test|scripts)\//.test(f) || /\.ts$/.test(f));
  if (bad.length) fail(`unexpected files in the VSIX: ${bad.slice(0, 10).join(', ')}`);
  const needed = ['dist/extension.js', 'dist/cli.js', 'dist/fix-verifier.js', 'dist/webview.js', 'dist/webview.css', 'python/optiscope/__init__.py', 'data/iris.csv'];
  for (const need of needed) {
    if (!files.includes(need)) fail(`${need} is missing from the VSIX`);
  }
  console.log(`package: ${files.length} files`);
} else {
  console.warn('package: unzip not found; the VSIX content was not checked');
}
console.log(`package: ${out.slice(root.length + 1)} (${Math.round(statSync(out).size / 1024)} KB)`);
