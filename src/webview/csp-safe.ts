/**
 * Imported first by main.ts. Zod v4 compiles fast parsers with `new Function` and probes for it on first
 * parse; under the panel's CSP (no 'unsafe-eval') that probe is itself reported as a violation. Jitless
 * mode never probes.
 */
import { z } from 'zod';

z.config({ jitless: true });
