/**
 * The error type of every configuration problem, in a module of its own that imports nothing:
 * the config model, the checkpoint store, the web config and the OTLP transport all throw it, and
 * the config model imports some of them, so it must not sit in any of their import cycles.
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
