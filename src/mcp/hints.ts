/**
 * Error hints of the MCP layer: the kernel layer's {@linkcode ErrorHint}
 * widened with the MCP server's own settings (the HTTP bearer token, the
 * listen address, a user's share of the kernel limit) and with the advice
 * `name` (a message that says which setting applied, such as a kernel-limit
 * refusal). The server and the HTTP service take a renderer
 * (`renderHint`); the default {@linkcode describeMcpHint} uses the
 * library's option names, the CLI passes its flags and variables.
 *
 * @module
 */

import {
  describeHint,
  type ErrorHint,
  type HintAdvice,
  type HintOption,
} from "../kernel/mod.ts";

/**
 * A setting of the MCP layer a hint can name, beside the kernel layer's
 * {@linkcode HintOption}s:
 *
 * - `httpToken`: the bearer token of `McpHttpServiceOptions` (`token`);
 * - `httpUsers`: its users with their own tokens (`users`);
 * - `listenAddress`: the `[HOST:]PORT` value `parseListenAddress` reads;
 * - `maxKernelsPerUser`: a user's share of the server's kernel limit (the
 *   `user` count `McpHttpServiceOptions.kernelSlots` returns).
 */
export type McpHintOption =
  | "httpToken"
  | "httpUsers"
  | "listenAddress"
  | "maxKernelsPerUser";

/**
 * What to do with the setting: the kernel layer's {@linkcode HintAdvice}, or
 * `name` to name it only (rendered as a bare name, not a clause).
 */
export type McpHintAdvice = HintAdvice | "name";

/**
 * Which setting to change (or name), and how: data, so each caller words it
 * in its own terms. Every kernel-layer {@linkcode ErrorHint} is one.
 *
 * @example A hint and its library wording
 * ```ts
 * import { describeMcpHint, type McpErrorHint } from "./hints.ts";
 * const hint: McpErrorHint = { option: "maxKernelsPerUser", advice: "raise" };
 * console.log(describeMcpHint(hint)); // raise kernelSlots().user.limit
 * ```
 */
export interface McpErrorHint {
  /** The setting. */
  readonly option: HintOption | McpHintOption;
  /** What to do with it. */
  readonly advice: McpHintAdvice;
  /** The value to set or add (`null`: no limit). */
  readonly value?: string | number | null;
}

/**
 * Words a hint: an imperative clause without a final full stop ("raise
 * maxKernels"), or for advice `name` the setting's bare name. The CLI's
 * renderer names its flags and environment variables.
 */
export type McpHintRenderer = (hint: McpErrorHint) => string;

/** The library's names of the MCP layer's settings. */
const LIBRARY_NAMES: Readonly<Record<McpHintOption, string>> = {
  httpToken: "token",
  httpUsers: "users",
  listenAddress: "listen address",
  maxKernelsPerUser: "kernelSlots().user.limit",
};

function isMcpOption(option: string): option is McpHintOption {
  return Object.hasOwn(LIBRARY_NAMES, option);
}

/**
 * Words a hint in the library's terms (the default
 * {@linkcode McpHintRenderer}): kernel-layer hints as
 * {@linkcode describeHint} does, the MCP layer's settings by their option
 * names; advice `name` gives the bare name.
 *
 * @param hint The hint.
 * @returns A clause ("raise maxKernels") or a name ("maxKernels").
 * @example
 * ```ts
 * import { describeMcpHint } from "./hints.ts";
 * console.log(describeMcpHint({ option: "maxKernels", advice: "name" })); // maxKernels
 * console.log(describeMcpHint({ option: "httpToken", advice: "name" })); // token
 * ```
 */
export function describeMcpHint(hint: McpErrorHint): string {
  const { option, advice, value } = hint;
  if (!isMcpOption(option)) {
    return advice === "name"
      ? option
      : describeHint({ ...hint, option, advice } as ErrorHint);
  }
  const name = LIBRARY_NAMES[option];
  const shown = value === undefined ? "" : JSON.stringify(value);
  switch (advice) {
    case "name":
      return name;
    case "disable":
      return `leave out ${name}`;
    case "set":
      return value === undefined
        ? `pass a valid ${name}`
        : `pass ${name}: ${shown}`;
    case "check":
      return `check ${name}`;
    case "add":
      return `add ${shown} to ${name}`;
    case "raise":
      return `raise ${name}`;
  }
}
