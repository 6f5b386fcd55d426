/**
 * The kernel part of the package (`@agentic/agentic-python-coder/kernel`):
 * start persistent IPython kernels, run code in them, and manage many named
 * kernels in a {@linkcode KernelRegistry}.
 *
 * A backend starts kernels of one kind; each has one factory:
 * {@linkcode createLocalBackend} (processes on this machine),
 * {@linkcode createSandboxBackend} (under bubblewrap, Linux) and
 * {@linkcode createRemoteBackend} (on a Jupyter Server or gateway). Every
 * kernel they start is a {@linkcode KernelHandle}.
 *
 * Python exceptions come back as data (`result.error`); the functions here
 * throw only when the machinery fails, with the errors exported below.
 *
 * @example Run code in a kernel
 * ```ts
 * import { startKernel } from "@agentic/agentic-python-coder/kernel";
 *
 * await using kernel = await startKernel({ cwd: Deno.cwd(), env: Deno.env.toObject() });
 * const result = await kernel.execute("x = 41\nx + 1", { timeoutMs: 10_000 });
 * console.log(result.result); // "42"
 * ```
 *
 * @example Sandboxed kernels in a registry
 * ```ts
 * import { createSandboxBackend, KernelRegistry } from "@agentic/agentic-python-coder/kernel";
 *
 * const env = Deno.env.toObject();
 * await using registry = new KernelRegistry({
 *   cwd: Deno.cwd(),
 *   launch: { env },
 *   backend: createSandboxBackend({ env, memoryLimit: 2 * 2 ** 30, allowHosts: ["pypi.org"] }),
 * });
 * const { id } = await registry.create({ packages: ["numpy"] });
 * console.log(id);
 * ```
 *
 * @module
 */

export {
  type BackendKind,
  checkSyntax,
  type CheckSyntaxOptions,
  type CommandResult,
  createLocalBackend,
  createRemoteBackend,
  createSandboxBackend,
  DEFAULT_KERNEL_ID,
  describeHint,
  type ErrorHint,
  type ExecuteOptions,
  type ExecuteResult,
  ExecutionTimeoutError,
  type GatewayClient,
  type GatewayConfig,
  GatewayError,
  type HintAdvice,
  type HintOption,
  type HintRenderer,
  type HtmlOutput,
  type InstallStep,
  InvalidPackageSpecError,
  type Kernel,
  type KernelBackend,
  type KernelCapabilities,
  type KernelCommand,
  KernelDiedError,
  KernelError,
  type KernelErrorOptions,
  type KernelExit,
  type KernelExitReason,
  KernelGoneError,
  type KernelHandle,
  type KernelImage,
  type KernelInfo,
  KernelLimitError,
  type KernelModel,
  KernelNotFoundError,
  KernelRegistry,
  type KernelRegistryOptions,
  KernelStartError,
  type KernelStartRequest,
  type KernelState,
  type LaunchOptions,
  type LaunchPlan,
  type LocalBackend,
  type LocalBackendOptions,
  type Logger,
  type OutputChunk,
  type PythonError,
  type RemoteBackend,
  type RemoteBackendOptions,
  type RemoteKernel,
  resolvePython,
  type SandboxBackend,
  type SandboxBackendOptions,
  startKernel,
  type StartKernelOptions,
  type SyntaxCheck,
  type SyntaxChecker,
  validatePackageSpec,
} from "./mod.ts";
