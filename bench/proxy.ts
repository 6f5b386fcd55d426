/**
 * Bench section `proxy`: what `--allow-host` costs (SPEC §12). A 1 MB
 * download from a server on 127.0.0.1, timed inside the kernel with
 * `urllib`: from a sandboxed kernel through the relay and the filtering
 * proxy, against the same download from an unsandboxed kernel straight to
 * the server, in the same run, as a ratio.
 *
 * @module
 */

import {
  createLocalBackend,
  createSandboxBackend,
  type KernelHandle,
  resolvePython,
} from "../src/kernel/mod.ts";
import { median, type SectionInput, type SectionResult } from "./report.ts";

const SIZE = 2 ** 20;

/** Times `count` downloads of `url` inside a kernel, in ms. */
async function downloads(
  kernel: KernelHandle,
  url: string,
  count: number,
): Promise<number[]> {
  const out = await kernel.execute(
    "import json, time, urllib.request\nts = []\n" +
      `for _ in range(${count}):\n` +
      "    t = time.perf_counter()\n" +
      `    data = urllib.request.urlopen(${JSON.stringify(url)}).read()\n` +
      "    ts.append((time.perf_counter() - t) * 1000)\n" +
      `    assert len(data) == ${SIZE}, len(data)\n` +
      "json.dumps(ts)",
  );
  if (out.error) {
    throw new Error(`download failed: ${out.error.ename}: ${out.error.evalue}`);
  }
  return JSON.parse(JSON.parse(String(out.result).replace(/^'|'$/g, '"')));
}

/**
 * Measures a 1 MB download through the proxy against a direct one.
 *
 * @param input Environment, scratch dir, iteration count, logger.
 * @returns Data, the `proxy_download_1mb` ratio, one row.
 */
export async function benchProxy(input: SectionInput): Promise<SectionResult> {
  const body = new Uint8Array(SIZE).fill(120);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(body),
  );
  const url = `http://127.0.0.1:${server.addr.port}/1mb`;
  // The direct kernel must not pick up a proxy of the host.
  const env = Object.fromEntries(
    Object.entries(input.env).filter(([k]) => !/_proxy$/i.test(k)),
  );
  const python = await resolvePython({ env });
  const cwd = await Deno.makeTempDir({ dir: input.tmp, prefix: "proxy-" });
  const kernels: KernelHandle[] = [];
  try {
    const sandbox = createSandboxBackend({
      env,
      python,
      memoryLimit: null,
      allowHosts: [`127.0.0.1:${server.addr.port}`],
    });
    const proxied = await sandbox.start({ cwd, packages: [] });
    kernels.push(proxied);
    const direct = await createLocalBackend({ env, python }).start({
      cwd,
      packages: [],
    });
    kernels.push(direct);
    const rounds = input.n >= 1000 ? 10 : 4;
    const per = 5;
    input.log(
      `proxy: ${
        rounds * per
      } downloads of 1 MB each way, in alternating blocks`,
    );
    await downloads(proxied, url, 3);
    await downloads(direct, url, 3);
    const times = { proxied: [] as number[], direct: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      times.proxied.push(...await downloads(proxied, url, per));
      times.direct.push(...await downloads(direct, url, per));
    }
    const p50 = {
      proxied: median(times.proxied),
      direct: median(times.direct),
    };
    const ratio = p50.proxied / p50.direct;
    return {
      data: { python, sizeBytes: SIZE, times, p50 },
      ratios: { proxy_download_1mb: ratio },
      rows: [{
        measurement:
          "1 MB HTTP download through --allow-host (relay + filtering proxy), p50",
        value: `${p50.proxied.toFixed(2)} ms`,
        compare: `${ratio.toFixed(2)}x of a direct download ${
          p50.direct.toFixed(2)
        } ms (unsandboxed kernel)`,
        target: "(no SPEC target)",
      }],
    };
  } finally {
    await Promise.all(kernels.map((k) => k.shutdown()));
    await server.shutdown();
    await Deno.remove(cwd, { recursive: true }).catch(() => {});
  }
}
