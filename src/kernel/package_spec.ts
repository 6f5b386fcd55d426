/**
 * Validation of package specs before uv or pip sees them.
 *
 * @module
 */

import { InvalidPackageSpecError } from "./errors.ts";

// PEP 508 name, optional [extras], optional version constraint(s).
const NAME = String.raw`[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?`;
const EXTRAS = String.raw`\[\s*${NAME}(?:\s*,\s*${NAME})*\s*\]`;
const VERSION = String.raw`(?:===|==|~=|!=|<=|>=|<|>)[A-Za-z0-9.*+!_-]+`;
const SPEC_RE = new RegExp(
  String.raw`^(${NAME})(${EXTRAS})?(${VERSION}(?:,${VERSION})*)?$`,
);

/**
 * Checks one package spec: a name, optional `[extras]`, optional version
 * constraint such as `numpy>=2,<3`. Refuses options, whitespace, paths, URLs
 * and shell metacharacters.
 *
 * @param spec The spec as the user wrote it.
 * @returns The spec with surrounding whitespace removed.
 * @throws {InvalidPackageSpecError} When the spec is not a plain requirement.
 * @example Validating specs
 * ```ts
 * import { validatePackageSpec } from "./package_spec.ts";
 * validatePackageSpec("numpy>=2"); // "numpy>=2"
 * ```
 */
export function validatePackageSpec(spec: string): string {
  if (typeof spec !== "string") {
    throw new InvalidPackageSpecError(String(spec), "expected a string");
  }
  const trimmed = spec.trim();
  if (trimmed === "") throw new InvalidPackageSpecError(spec, "empty");
  if (trimmed.startsWith("-")) {
    throw new InvalidPackageSpecError(spec, "options are not allowed");
  }
  if (/\s/.test(trimmed)) {
    throw new InvalidPackageSpecError(spec, "whitespace is not allowed");
  }
  if (/[\/\\]/.test(trimmed)) {
    throw new InvalidPackageSpecError(
      spec,
      "paths and URLs are not allowed",
    );
  }
  if (/[;&|`$(){}<>'"!#*?~^]/.test(trimmed.replace(SAFE_OPS, ""))) {
    throw new InvalidPackageSpecError(
      spec,
      "shell metacharacters are not allowed",
    );
  }
  if (!SPEC_RE.test(trimmed)) {
    throw new InvalidPackageSpecError(
      spec,
      "expected NAME, NAME[extra] or NAME followed by a version constraint such as ==1.2 or >=2",
    );
  }
  return trimmed;
}

// Comparison operators are legal in constraints; strip them before the metacharacter check.
const SAFE_OPS = /===|==|~=|!=|<=|>=|<|>|\.\*/g;

/**
 * Validates a list of specs, removing duplicates and sorting for a stable key.
 *
 * @param specs The specs as given.
 * @returns The validated specs, sorted, without duplicates.
 * @throws {InvalidPackageSpecError} On the first invalid spec.
 */
export function validatePackageSpecs(specs: readonly string[]): string[] {
  if (!Array.isArray(specs)) {
    throw new InvalidPackageSpecError(String(specs), "expected a list");
  }
  return [...new Set(specs.map(validatePackageSpec))].sort();
}

const NAME_PREFIX_RE = new RegExp(`^${NAME}`);

/**
 * The distribution name of a spec (`numpy[extra]>=2` -> `numpy`). The one
 * spec-name parser: the MCP tools and the agent use it too.
 *
 * @param spec A package spec (surrounding whitespace is ignored).
 * @returns The bare name, or the trimmed spec when it starts with no name.
 */
export function packageName(spec: string): string {
  const trimmed = spec.trim();
  return trimmed.match(NAME_PREFIX_RE)?.[0] ?? trimmed;
}
