/**
 * Errors of the LLM layer: one base class plus the conditions callers catch.
 *
 * @module
 */

/** Base class of every error thrown by the LLM layer. */
export class LlmError extends Error {
  /**
   * Creates the error.
   *
   * @param message What went wrong.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LlmError";
  }
}

/** A model name matched no file and no bundled configuration. */
export class UnknownModelError extends LlmError {
  /** The name that was looked up. */
  readonly model: string;
  /** The bundled model names, sorted. */
  readonly available: string[];

  /**
   * Creates the error.
   *
   * @param model The name that was looked up.
   * @param available The bundled model names.
   */
  constructor(model: string, available: string[]) {
    super(
      `Cannot find model "${model}": not a JSON file and not a bundled model (available: ${
        available.join(", ")
      })`,
    );
    this.name = "UnknownModelError";
    this.model = model;
    this.available = available;
  }
}

/** A model configuration file could not be read or holds invalid values. */
export class ModelConfigError extends LlmError {
  /** Where the configuration came from (file path or bundled name). */
  readonly source: string;

  /**
   * Creates the error.
   *
   * @param source File path or bundled name of the configuration.
   * @param detail What is wrong with it.
   * @param options Standard error options (`cause`).
   */
  constructor(source: string, detail: string, options?: ErrorOptions) {
    super(`Cannot load model configuration "${source}": ${detail}`, options);
    this.name = "ModelConfigError";
    this.source = source;
  }
}

/** No API key is configured for the endpoint a model uses. */
export class MissingApiKeyError extends LlmError {
  /** The environment variable that would hold the key. */
  readonly envVar: string;

  /**
   * Creates the error.
   *
   * @param envVar The environment variable that would hold the key.
   */
  constructor(envVar: string) {
    super(`Cannot create the chat client: no API key (set ${envVar})`);
    this.name = "MissingApiKeyError";
    this.envVar = envVar;
  }
}

/**
 * The endpoint answered, but with an error envelope instead of a completion
 * (HTTP 200 without choices, an `error` member, or finish_reason `error`).
 * Such answers are transient more often than not; the agent retries them.
 */
export class LlmResponseError extends LlmError {
  /** Provider error code, when the envelope carried one. */
  readonly code: string | number | null;

  /**
   * Creates the error.
   *
   * @param detail What the envelope said.
   * @param code Provider error code, if any.
   */
  constructor(detail: string, code: string | number | null = null) {
    super(
      `The model endpoint returned an error instead of a completion: ${detail}`,
    );
    this.name = "LlmResponseError";
    this.code = code;
  }
}

/** The HTTP request to the model endpoint failed (network, status >= 400, timeout). */
export class LlmRequestError extends LlmError {
  /** HTTP status, when the server answered. */
  readonly status: number | null;

  /**
   * Creates the error.
   *
   * @param detail What failed.
   * @param status HTTP status, if any.
   * @param options Standard error options (`cause`).
   */
  constructor(detail: string, status: number | null, options?: ErrorOptions) {
    super(`The request to the model endpoint failed: ${detail}`, options);
    this.name = "LlmRequestError";
    this.status = status;
  }
}
