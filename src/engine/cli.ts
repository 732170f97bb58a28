/**
 * The `optiscope` command. Exit codes (contract): 0 the run happened, 2 invalid input (located), 1 any
 * other failure (with what to do). No stack trace reaches a user unless OPTISCOPE_DEBUG=1.
 */
import { InputError, formatDiagnostic } from './diagnostic';
import { parseArgs, USAGE, UsageError } from './cli/args';
import { runCommand, type Io } from './cli/run';
import { runQuickstart } from './cli/quickstart';
import { checkCommand } from './cli/check-command';

const VERSION = '0.1.0';

export async function main(argv: readonly string[], io: Io): Promise<number> {
  try {
    const args = parseArgs(argv);
    switch (args.command) {
      case 'help':
        io.stdout(USAGE + '\n');
        return 0;
      case 'version':
        io.stdout(VERSION + '\n');
        return 0;
      case 'quickstart':
        return await runQuickstart(args.format, io);
      case 'run':
        return await runCommand(args, io);
      case 'check':
        return await checkCommand(args, io);
    }
  } catch (e) {
    return reportError(e, io);
  }
}

export function reportError(e: unknown, io: Pick<Io, 'stderr'>): number {
  if (e instanceof InputError) {
    for (const d of e.diagnostics) io.stderr(formatDiagnostic(d) + '\n');
    return 2;
  }
  if (e instanceof UsageError) {
    io.stderr(`optiscope: ${e.message}\n\n${USAGE}\n`);
    return 2;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && err.code === 'ENOENT' && err.path) {
    io.stderr(`optiscope: no such file: ${err.path}. Check the path, relative to the current folder.\n`);
    return 2;
  }
  io.stderr(`optiscope: ${err?.message ?? String(e)}\n`);
  if (process.env.OPTISCOPE_DEBUG === '1' && err?.stack) io.stderr(err.stack + '\n');
  else io.stderr('This is a bug in Optiscope, not in your config; set OPTISCOPE_DEBUG=1 for details and report it.\n');
  return 1;
}
