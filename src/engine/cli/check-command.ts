/** `optiscope check <file>`: static validation plus the pre-flight probe; prints diagnostics, never trains. */
import { runCheck } from './check';
import { preflightDiagnostics } from '../monitors/preflight-diagnostics';
import type { CheckArgs } from './args';
import { MAX_CONFIG_BYTES } from '../config/limits';
import type { Io } from './run';

export async function checkCommand(args: CheckArgs, io: Io, stdin: () => Promise<string> = readStdin): Promise<number> {
  return runCheck(args.file, { stdout: io.stdout, stderr: io.stderr }, {
    preflight: args.preflight ? (config, text) => preflightDiagnostics(config, text) : undefined,
    format: args.format === 'json' ? 'json' : 'text',
    text: args.stdin ? await stdin() : undefined,
  });
}

/** All of stdin, stopping a little past the config size limit (the checker then reports the limit). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const b = chunk as Buffer;
    chunks.push(b);
    size += b.length;
    if (size > MAX_CONFIG_BYTES + 1) break;
  }
  return Buffer.concat(chunks).toString('utf8');
}
