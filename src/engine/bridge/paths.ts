/**
 * Where the bridge's files are: the `python/` folder holding the `optiscope` package (put on
 * PYTHONPATH, nothing to pip-install). Found by walking up from this module, which works from the
 * source tree (src/engine/bridge) and from the bundle (dist/), in the repository and in the VSIX.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function walkUp(test: (dir: string) => string | null): string | null {
  let dir = typeof __dirname === 'string' ? __dirname : process.cwd();
  for (;;) {
    const hit = test(dir);
    if (hit) return hit;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** The folder to put on PYTHONPATH (it contains `optiscope/run.py`), or null when missing. */
export function bridgePythonDir(): string | null {
  return walkUp((dir) => (existsSync(join(dir, 'python', 'optiscope', 'run.py')) ? join(dir, 'python') : null));
}
