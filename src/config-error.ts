/**
 * The error of a setting the user must fix. A module of its own, importing nothing: the modules
 * that throw it (checkpoint, web config, traces) are also imported by config-values.ts, and a
 * class defined there was not initialised yet when one of them was the entry point (an import
 * cycle through export/metrics-server.ts).
 */

/** A configuration problem the user must fix: the CLI prints the message and exits 2. */
export class ConfigError extends Error {
  /** Set when a command-line flag is at fault: the CLI adds a pointer to `--help`. */
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
  }
}
