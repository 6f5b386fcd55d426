/**
 * One secret masker for everything the programs let out of the process:
 * `coder`'s terminal output, JSON Lines log, notebook and the tool results
 * sent to the model; `ipython_mcp`'s answers, saved outputs, notebooks and
 * log (SPEC §12).
 *
 * @module
 */

/** What a masked secret is replaced with. */
export const REDACTED = "[REDACTED]";

/** Secrets shorter than this are not masked (they would mangle ordinary text). */
const MIN_SECRET_LENGTH = 4;

/**
 * Replaces known secrets (API keys, tokens) in text with `[REDACTED]`. Each
 * secret is also matched in its JSON-escaped form, so a secret inside an
 * already-serialized JSON string is masked too.
 *
 * @example Mask a key
 * ```ts
 * import { SecretMasker } from "./secrets.ts";
 * const masker = new SecretMasker(["sk-or-123456"]);
 * console.log(masker.mask("key=sk-or-123456")); // key=[REDACTED]
 * ```
 */
export class SecretMasker {
  readonly #forms = new Set<string>();

  /**
   * Creates a masker.
   *
   * @param secrets Initial secrets; empty, undefined and very short ones are ignored.
   */
  constructor(secrets: Iterable<string | undefined | null> = []) {
    for (const secret of secrets) this.add(secret);
  }

  /**
   * Adds a secret to mask from now on.
   *
   * @param secret The secret (ignored when missing or shorter than 4 characters).
   */
  add(secret: string | undefined | null): void {
    if (!secret || secret.length < MIN_SECRET_LENGTH) return;
    this.#forms.add(secret);
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret) this.#forms.add(escaped);
  }

  /** How many forms (secrets and their JSON-escaped variants) are masked. */
  get size(): number {
    return this.#forms.size;
  }

  /**
   * Masks every known secret in a text.
   *
   * @param text Any text.
   * @returns The text with each secret replaced by `[REDACTED]`.
   */
  mask(text: string): string {
    let masked = text;
    // Longest first, so a secret containing another is masked whole.
    const forms = [...this.#forms].sort((a, b) => b.length - a.length);
    for (const form of forms) masked = masked.replaceAll(form, REDACTED);
    return masked;
  }
}
