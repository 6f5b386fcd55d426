/**
 * Builds the notebook view (SPEC §14): bundles `view/main.ts` (with
 * DOMPurify) for the browser with `deno bundle --minify`, and inlines it in
 * `view/template.html` with a Content-Security-Policy that allows
 * only this script (by its SHA-256), inline styles and `data:` images. The
 * result, `src/mcp/view/notebook.html`, is committed and embedded in the
 * server through a text import.
 *
 * ```sh
 * deno task build:view            # writes src/mcp/view/notebook.html
 * deno run -A scripts/build_view.ts --out /tmp/view.html
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The committed, built view. */
export const VIEW_OUTPUT = join(ROOT, "src/mcp/view/notebook.html");

async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(text),
  );
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/**
 * Builds the view document.
 *
 * @returns The HTML text.
 */
export async function buildView(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "view-build-" });
  try {
    const out = join(dir, "main.js");
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "browser",
        "--minify",
        "-o",
        out,
        join(ROOT, "view/main.ts"),
      ],
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (code !== 0) {
      throw new Error(
        `deno bundle failed: ${new TextDecoder().decode(stderr)}`,
      );
    }
    // A literal "</script" would end the inline script early.
    const script = (await Deno.readTextFile(out)).trim().replaceAll(
      "</script",
      "<\\/script",
    );
    const template = await Deno.readTextFile(
      join(ROOT, "view/template.html"),
    );
    const withScript = template.replace("__SCRIPT__", () => script);
    // The hash covers the script element's whole text, as the browser sees
    // it (with the template's indentation around the bundle).
    const start = withScript.indexOf("<script>") + "<script>".length;
    const end = withScript.indexOf("</script>", start);
    const hash = `sha256-${await sha256Base64(withScript.slice(start, end))}`;
    return withScript.replace("__SCRIPT_HASH__", () => hash);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { out: { type: "string", default: VIEW_OUTPUT } },
  });
  const html = await buildView();
  await Deno.writeTextFile(values.out!, html);
  // deno-lint-ignore no-console
  console.log(
    `${values.out}: ${new TextEncoder().encode(html).length} bytes`,
  );
}
