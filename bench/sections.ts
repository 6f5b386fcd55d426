/**
 * The benchmark's sections, in the order they run, each with what it
 * measures and against which baseline of the same run (shown by `--help`
 * and in docs/performance.md).
 *
 * @module
 */

/** Section names, in the order they run (names for `--only`). */
export const SECTIONS = [
  "reference",
  "transport",
  "kernel",
  "mcp",
  "rss",
  "startup",
  "kernels",
  "output",
  "sandbox",
  "proxy",
  "remote",
  "http",
  "eval",
  "view",
  "lifecycle",
] as const;

/** One section name. */
export type Section = typeof SECTIONS[number];

/** What each section measures and its baseline; one sentence or two. */
export const SECTION_INFO: Readonly<Record<Section, string>> = Object.freeze({
  reference:
    "Debian's `jupyter_client` (when importable): `KernelManager` start and " +
    "the `1+1` round trip to the reply and to the idle status, the reference " +
    "the kernel and MCP figures are compared with.",
  transport:
    "A bare ZMTP DEALER on the kernel's shell port sending pre-signed " +
    "`execute_request` frames and waiting for the reply only: the floor under " +
    "any client's round trip.",
  kernel:
    "`startKernel` against a bare `python -m ipykernel_launcher` start, " +
    'and `Kernel.execute("1+1")` (reply and idle) against the bare transport.',
  mcp: '`python_exec("1+1")` over MCP stdio, timed interleaved with the ' +
    "kernel and transport layers so each sees the same machine load.",
  rss: "The server's resident memory after its first call and after the " +
    "round trips of the `mcp` section.",
  startup:
    "Server spawn to `initialize` answered and to the first `python_exec` " +
    "result, against a bare ipykernel start; a 2026 client in `auto` mode; " +
    "first starts from an empty `DENO_DIR`.",
  kernels: "`python_reset` with the pool off (a cold kernel start) against a " +
    "warm spare, and eight kernels running a 1 s job at once against one.",
  output: "10 MiB of stdout in one execution through `python_exec` against " +
    "`Kernel.execute`, and the server's peak memory meanwhile.",
  sandbox:
    "A sandboxed kernel (bubblewrap, ipc sockets, 4 GiB memory cgroup) " +
    "against an unsandboxed one: start and `1+1` round trip.",
  proxy: "A 1 MB download from a sandboxed kernel through `--allow-host` " +
    "(relay and filtering proxy) against a direct one.",
  remote:
    "`1+1` on a kernel of a stock Jupyter Server on 127.0.0.1 against a local " +
    "kernel, back to back and with 100 ms gaps, and Deno's own WebSocket.",
  http: '`python_exec("1+1")` over Streamable HTTP (SSE replies, bearer ' +
    "token) against the same call over stdio.",
  eval: "`coder eval` cost per task beyond a bare kernel run (a fake model " +
    "answering at once), and `--jobs 2` against `--jobs 1`.",
  view: "The notebook view's first render in headless Chromium after a tool " +
    "result, against the bare `notebook_view` call, and the view's size.",
  lifecycle: "The shutdown bound (server and kernels gone within 5 s) on " +
    "SIGTERM, SIGINT, SIGKILL and stdin EOF, and on EOF while a spare " +
    "starts; a kernel's death reaching the MCP answer, local and remote, " +
    "against a `1+1` round trip; the largest gap between progress " +
    "notifications in a silent 12 s call; kernels exiting after their owner " +
    "is SIGKILLed; an idle HTTP session's kernels ending after its TTL.",
});
