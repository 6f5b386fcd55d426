/**
 * A demo wheel for package-install tests (PyPI is unreachable here).
 *
 * @module
 */

import assert from "node:assert/strict";

/**
 * Builds `coder_demo_pkg-1.2.3-py3-none-any.whl` (module `coder_demo_pkg`,
 * ANSWER = 42) by hand into `dir` (a wheel is a zip), for installs with
 * PIP_NO_INDEX + PIP_FIND_LINKS.
 *
 * @param dir Where the wheel goes.
 * @param python Interpreter that writes it.
 */
export async function buildWheel(dir: string, python: string): Promise<void> {
  const script = `
import base64, hashlib, sys, zipfile
out = sys.argv[1]
files = {
    "coder_demo_pkg/__init__.py": b"__version__ = '1.2.3'\\nANSWER = 42\\n",
    "coder_demo_pkg-1.2.3.dist-info/METADATA": b"Metadata-Version: 2.1\\nName: coder-demo-pkg\\nVersion: 1.2.3\\n",
    "coder_demo_pkg-1.2.3.dist-info/WHEEL": b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
record = []
for name, data in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record.append(f"{name},sha256={digest},{len(data)}")
record.append("coder_demo_pkg-1.2.3.dist-info/RECORD,,")
files["coder_demo_pkg-1.2.3.dist-info/RECORD"] = ("\\n".join(record) + "\\n").encode()
with zipfile.ZipFile(out + "/coder_demo_pkg-1.2.3-py3-none-any.whl", "w") as z:
    for name, data in files.items():
        z.writestr(name, data)
`;
  const out = await new Deno.Command(python, { args: ["-c", script, dir] })
    .output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}
