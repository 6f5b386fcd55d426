/**
 * The secret masker, shared with the kernel layer (where it lives so the MCP
 * server masks with the same code).
 *
 * @module
 */

export { REDACTED, SecretMasker } from "../kernel/mod.ts";
