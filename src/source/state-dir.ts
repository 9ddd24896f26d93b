/**
 * Where the daemon's state goes by default. Kept apart from checkpoint.ts (which imports the
 * config module for its error type) so that config.ts can use it without an import cycle.
 */
import os from 'node:os';
import path from 'node:path';

/** The checkpoint's file name in a state directory. */
export const CHECKPOINT_FILE_NAME = 'pollscope-checkpoint.json';

/**
 * Where a daemon's state belongs when no --checkpoint is given: `$STATE_DIRECTORY` (systemd's
 * StateDirectory=, first entry), else `$XDG_STATE_HOME/pollscope/`, else `~/.local/state/pollscope/`.
 */
export function defaultCheckpointPath(env: NodeJS.ProcessEnv = process.env): string {
  const stateDirectory = env.STATE_DIRECTORY?.split(':')[0];
  if (stateDirectory) return path.join(stateDirectory, CHECKPOINT_FILE_NAME);
  const xdg = env.XDG_STATE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'pollscope', CHECKPOINT_FILE_NAME);
}
