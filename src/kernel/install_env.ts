/**
 * What a package installer (pip, uv) is given (SPEC §12): an environment
 * reduced to what installing needs, never the server's secrets
 * (`CODER_MCP_TOKEN`, API keys, gateway tokens...), and the package index
 * hosts it may reach.
 *
 * @module
 */

import { isAbsolute } from "node:path";
import { fileURLToPath } from "node:url";
import { type AllowedHost, parseAllowHosts } from "./allow_hosts.ts";

/** Variables an installer keeps besides `LC_*`, `PIP_*` and `UV_*`. */
const INSTALL_ENV_KEPT = new Set([
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TERM",
  "TMPDIR",
  "XDG_CACHE_HOME",
  "XDG_DATA_HOME",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "REQUESTS_CA_BUNDLE",
  "CURL_CA_BUNDLE",
  "SOURCE_DATE_EPOCH",
]);

/** Index hosts used when no index variable names one. */
export const DEFAULT_INDEX_HOSTS: readonly string[] = [
  "pypi.org",
  "files.pythonhosted.org",
];

/** Variables holding index URLs (space-separated lists for the extra ones). */
const INDEX_VARIABLES = [
  "PIP_INDEX_URL",
  "PIP_EXTRA_INDEX_URL",
  "PIP_FIND_LINKS",
  "UV_INDEX_URL",
  "UV_DEFAULT_INDEX",
  "UV_EXTRA_INDEX_URL",
  "UV_INDEX",
  "UV_FIND_LINKS",
];

/** Index variables that replace the default index (PyPI). */
const PRIMARY_INDEX_VARIABLES = [
  "PIP_INDEX_URL",
  "UV_INDEX_URL",
  "UV_DEFAULT_INDEX",
];

/**
 * The environment of a package installer: the locale and path basics,
 * certificate settings, `PIP_*` and `UV_*`; nothing else (no tokens, no API
 * keys, no proxy settings of the host).
 *
 * @param env The server's environment.
 * @returns The reduced environment.
 */
export function installEnv(
  env: Record<string, string>,
): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (
      INSTALL_ENV_KEPT.has(key) || key.startsWith("LC_") ||
      key.startsWith("PIP_") || key.startsWith("UV_")
    ) {
      kept[key] = value;
    }
  }
  kept.PIP_NO_INPUT = "1";
  kept.PIP_DISABLE_PIP_VERSION_CHECK = "1";
  return kept;
}

/** The URLs in one index variable (`name=url` entries of UV_INDEX included). */
function urlsOf(value: string): string[] {
  return value.split(/\s+/).filter(Boolean).map((item) =>
    item.replace(/^[A-Za-z0-9_.-]+=(?=[a-z][a-z0-9+.-]*:)/i, "")
  );
}

/**
 * The hosts a package installer may reach: those of the index variables
 * (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, UV_INDEX_URL, UV_DEFAULT_INDEX,
 * UV_EXTRA_INDEX_URL, UV_INDEX and http(s) find-links), plus pypi.org and
 * files.pythonhosted.org unless a primary index replaces PyPI.
 *
 * @param env The server's environment.
 * @returns The allow list (an explicit port kept as `host:port`).
 */
export function indexHosts(env: Record<string, string>): AllowedHost[] {
  const entries: string[] = [];
  for (const name of INDEX_VARIABLES) {
    for (const url of urlsOf(env[name] ?? "")) {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        continue;
      }
      if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
        continue;
      }
      entries.push(parsed.port ? parsed.host : parsed.hostname);
    }
  }
  if (!PRIMARY_INDEX_VARIABLES.some((name) => env[name])) {
    entries.push(...DEFAULT_INDEX_HOSTS);
  }
  return parseAllowHosts(entries);
}

/**
 * Local directories the index variables name (`file:` URLs in any of them,
 * plain paths in PIP_FIND_LINKS / UV_FIND_LINKS): bound read-only into the
 * install sandbox.
 *
 * @param env The server's environment.
 * @returns Absolute paths.
 */
export function localIndexDirs(env: Record<string, string>): string[] {
  const dirs: string[] = [];
  for (const name of INDEX_VARIABLES) {
    // uv separates its find-links with commas, pip with white space.
    const items = name === "UV_FIND_LINKS"
      ? (env[name] ?? "").split(/[\s,]+/)
      : urlsOf(env[name] ?? "");
    for (const item of items.filter(Boolean)) {
      if (item.startsWith("file:")) {
        try {
          dirs.push(fileURLToPath(item));
        } catch {
          // not a usable URL
        }
      } else if (name.endsWith("FIND_LINKS") && isAbsolute(item)) {
        dirs.push(item);
      }
    }
  }
  return dirs;
}
