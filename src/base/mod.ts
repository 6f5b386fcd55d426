/**
 * Floor 0: small helpers every layer may use and that import nothing of
 * ours (abortable waits, the logger interface).
 *
 * ```ts
 * import { delay, SILENT_LOGGER } from "./mod.ts";
 * await delay(1);
 * SILENT_LOGGER.info("dropped");
 * ```
 *
 * @module
 */

export {
  deadline,
  delay,
  Limiter,
  settleWithin,
  untilAborted,
} from "./async.ts";
export { type Logger, SILENT_LOGGER } from "./logger.ts";
