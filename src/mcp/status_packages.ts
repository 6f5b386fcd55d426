/**
 * The packages python_status lists: kernel plumbing left out, the
 * kernel's requested packages first.
 *
 * @module
 */

import { packageName } from "../kernel/mod.ts";

/** Most packages python_status lists. */
export const MAX_STATUS_PACKAGES = 20;
/** Packages python_status leaves out (kernel plumbing, not user choices). */
export const HIDDEN_STATUS_PACKAGES: readonly string[] = [
  "pip",
  "setuptools",
  "wheel",
  "ipykernel",
  "jupyter-client",
];

/**
 * The distribution name of a package spec (`numpy[extra]>=2` -> `numpy`);
 * the kernel layer's {@linkcode packageName}.
 *
 * @param spec A validated package spec.
 * @returns The bare name.
 */
export function packageNameOf(spec: string): string {
  return packageName(spec);
}

function normalizePackageName(name: string): string {
  return name.toLowerCase().replace(/[._]+/g, "-");
}

/**
 * Picks the packages python_status shows: hidden plumbing removed, the
 * kernel's requested packages first, then the rest by name; at most
 * {@linkcode MAX_STATUS_PACKAGES}, as "name version".
 *
 * @param installed Every installed distribution.
 * @param requested Names the kernel was started with.
 * @param max Most entries; default {@linkcode MAX_STATUS_PACKAGES}.
 * @returns "name version" strings.
 */
export function statusPackages(
  installed: readonly { name: string; version: string }[],
  requested: readonly string[] = [],
  max: number = MAX_STATUS_PACKAGES,
): string[] {
  const hidden = new Set(HIDDEN_STATUS_PACKAGES.map(normalizePackageName));
  const wanted = new Set(requested.map(normalizePackageName));
  const visible = installed.filter((p) =>
    !hidden.has(normalizePackageName(p.name))
  );
  const first = visible.filter((p) => wanted.has(normalizePackageName(p.name)));
  const rest = visible.filter((p) => !wanted.has(normalizePackageName(p.name)))
    .sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
  return [...first, ...rest].slice(0, max).map((p) => `${p.name} ${p.version}`);
}
