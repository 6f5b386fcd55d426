/**
 * Level filtering shared by the programs' stderr loggers.
 *
 * @module
 */

import type { Logger } from "../kernel/mod.ts";
import type { LogLevel } from "./env.ts";

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = Object.freeze({
  debug: 0,
  info: 1,
  warning: 2,
  error: 3,
});

/**
 * A {@linkcode Logger} that passes messages at or above `level` to `sink`.
 *
 * @param level Lowest level passed on.
 * @param sink Receives the level and message of each kept line.
 * @returns The logger.
 * @example Keep warnings and errors
 * ```ts
 * import { createLevelLogger } from "./logger.ts";
 * const lines: string[] = [];
 * const logger = createLevelLogger("warning", (at, m) => lines.push(`${at}: ${m}`));
 * logger.info("dropped");
 * logger.warn("kept");
 * ```
 */
export function createLevelLogger(
  level: LogLevel,
  sink: (at: LogLevel, message: string) => void,
): Logger {
  const min = LEVEL_RANK[level];
  const write = (at: LogLevel, message: string): void => {
    if (LEVEL_RANK[at] >= min) sink(at, message);
  };
  return {
    debug: (message) => write("debug", message),
    info: (message) => write("info", message),
    warn: (message) => write("warning", message),
    error: (message) => write("error", message),
  };
}
