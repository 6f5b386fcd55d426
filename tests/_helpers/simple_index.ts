/**
 * A package index for install tests (PyPI is unreachable here): wheels
 * built by hand (a wheel is a zip with METADATA, WHEEL and RECORD) and a
 * PEP 503 simple index serving them on 127.0.0.1.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type HttpTarget, serveTarget } from "./http_targets.ts";

/** One wheel to build. */
export interface WheelSpec {
  /** Distribution name (`probe-pkg`). */
  name: string;
  /** Version (`1.0.0`). */
  version: string;
  /** Files in the wheel besides the dist-info: path to text. */
  files: Record<string, string>;
}

/**
 * Builds a pure-Python wheel into `dir`.
 *
 * @param dir Output directory.
 * @param python Interpreter that writes the zip.
 * @param spec Name, version, files.
 * @returns The wheel's file name.
 */
export async function buildWheelFile(
  dir: string,
  python: string,
  spec: WheelSpec,
): Promise<string> {
  const script = `
import base64, hashlib, json, sys, zipfile
out, name, version, files = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
norm = name.replace("-", "_")
info = f"{norm}-{version}.dist-info"
files = {k: v.encode() for k, v in files.items()}
files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n".encode()
files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
record = [f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},{len(d)}" for n, d in files.items()]
files[f"{info}/RECORD"] = ("\\n".join(record + [f"{info}/RECORD,,"]) + "\\n").encode()
wheel = f"{norm}-{version}-py3-none-any.whl"
with zipfile.ZipFile(f"{out}/{wheel}", "w") as z:
    for n, d in files.items():
        z.writestr(n, d)
print(wheel)
`;
  const out = await new Deno.Command(python, {
    args: [
      "-c",
      script,
      dir,
      spec.name,
      spec.version,
      JSON.stringify(spec.files),
    ],
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

/** A simple index being served. */
export interface SimpleIndex extends HttpTarget {
  /** `http://127.0.0.1:PORT/simple/`. */
  url: string;
}

/**
 * Serves the wheels and sdists in `dir` as a PEP 503 simple index
 * (`/simple/<name>/` lists links to `/files/<wheel>`), optionally linking the
 * files on another base URL (to test refusals of other hosts).
 *
 * @param dir Directory of wheels.
 * @param filesBase Base URL of the file links (default: this server).
 * @returns The server.
 */
export function serveSimpleIndex(
  dir: string,
  filesBase?: string,
): SimpleIndex {
  const target = serveTarget(async (request) => {
    const path = new URL(request.url).pathname;
    const files: string[] = [];
    for await (const entry of Deno.readDir(dir)) {
      if (/\.(whl|tar\.gz)$/.test(entry.name)) files.push(entry.name);
    }
    const project = path.match(/^\/simple\/([^/]+)\/$/)?.[1];
    if (project) {
      const norm = project.toLowerCase().replace(/[-_.]+/g, "_");
      const links = files.filter((f) => f.toLowerCase().startsWith(`${norm}-`))
        .map((f) => `<a href="${filesBase ?? ""}/files/${f}">${f}</a><br/>`);
      return links.length === 0
        ? new Response("not found", { status: 404 })
        : new Response(`<html><body>${links.join("\n")}</body></html>`, {
          headers: { "content-type": "text/html" },
        });
    }
    const file = path.match(/^\/files\/([^/]+\.(?:whl|tar\.gz))$/)?.[1];
    if (file && files.includes(file)) {
      return new Response(await Deno.readFile(join(dir, file)));
    }
    return new Response("not found", { status: 404 });
  });
  return { ...target, url: `http://127.0.0.1:${target.port}/simple/` };
}

/**
 * Builds a source distribution `<name>-<version>.tar.gz` whose `setup.py`
 * is `setupPy` (run by pip's build step).
 *
 * @param dir Output directory.
 * @param python Interpreter that writes the archive.
 * @param name Distribution name with underscores (`build_probe`).
 * @param version Version.
 * @param setupPy The setup script.
 */
export async function buildSdist(
  dir: string,
  python: string,
  name: string,
  version: string,
  setupPy: string,
): Promise<void> {
  const script = `
import io, sys, tarfile
out, name, version, setup = sys.argv[1:5]
base = f"{name}-{version}"
files = {
    f"{base}/setup.py": setup.encode(),
    f"{base}/PKG-INFO": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n".encode(),
}
with tarfile.open(f"{out}/{base}.tar.gz", "w:gz") as t:
    for n, d in files.items():
        info = tarfile.TarInfo(n)
        info.size = len(d)
        t.addfile(info, io.BytesIO(d))
`;
  const out = await new Deno.Command(python, {
    args: ["-c", script, dir, name, version, setupPy],
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}
