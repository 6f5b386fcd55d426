/**
 * The logger every layer takes: four levels of plain messages. Its owner
 * (the CLI) decides where they go; library code never writes to a stream.
 *
 * @module
 */

/** Where a component's log lines go. */
export interface Logger {
  /** Debug detail. */
  debug(message: string): void;
  /** Normal events. */
  info(message: string): void;
  /** Something odd but handled. */
  warn(message: string): void;
  /** A failure. */
  error(message: string): void;
}

/** A logger that drops everything. */
export const SILENT_LOGGER: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});
