/**
 * The command line of a pre-flight probe: the bundled engine CLI (`dist/cli.js check <file> --stdin
 * --format json`, the editor's text on stdin, so unsaved edits are probed too) under the extension host's own executable, as the run manager starts runs. The extension host
 * may be Electron; ELECTRON_RUN_AS_NODE makes its binary behave as plain Node. Arguments are an array,
 * never a shell string, so a path with spaces or quotes reaches the CLI as it is.
 */
export interface ProbeCommand {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export function preflightCommand(cliPath: string, file: string, execPath = process.execPath, env: NodeJS.ProcessEnv = process.env): ProbeCommand {
  return {
    command: execPath,
    args: [cliPath, 'check', file, '--stdin', '--format', 'json'],
    env: { ...env, ELECTRON_RUN_AS_NODE: '1' },
  };
}
