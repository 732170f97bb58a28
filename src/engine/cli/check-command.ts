/** `optiscope check <file>`: static validation plus the pre-flight probe; prints diagnostics, never trains. */
import { runCheck } from './check';
import { preflightDiagnostics } from '../monitors/preflight-diagnostics';
import type { CheckArgs } from './args';
import type { Io } from './run';

export async function checkCommand(args: CheckArgs, io: Io): Promise<number> {
  return runCheck(args.file, { stdout: io.stdout, stderr: io.stderr }, {
    preflight: args.preflight ? preflightDiagnostics : undefined,
    format: args.format === 'json' ? 'json' : 'text',
  });
}
