/**
 * Jupyter kernel client: starts real `ipykernel` processes, talks the
 * Jupyter messaging protocol over our own ZeroMQ transport, and manages
 * named kernels in a {@linkcode KernelRegistry}.
 *
 * @example Run code in a kernel
 * ```ts
 * import { startKernel } from "./mod.ts";
 * await using kernel = await startKernel({ cwd: Deno.cwd(), env: Deno.env.toObject() });
 * const result = await kernel.execute("print('hello')");
 * console.log(result.stdout); // "hello\n"
 * ```
 *
 * @module
 */

export type {
  BackendKind,
  KernelBackend,
  KernelCapabilities,
  KernelHandle,
  KernelStartRequest,
} from "./backend.ts";
export {
  BwrapProvisioner,
  type InterruptMode,
  type KernelProvisioner,
  LOCAL_PROCESS_CAPABILITIES,
  ProcessGroupProvisioner,
} from "./provisioner.ts";
export { REMOTE_CAPABILITIES, RestProvisioner } from "./remote/provisioner.ts";
export type { ConnectionInfo, SocketFactory } from "./connection.ts";
export {
  createLocalBackend,
  createLocalSyntaxChecker,
  LocalBackend,
  type LocalBackendOptions,
} from "./local_backend.ts";
export {
  describeExit,
  describeHint,
  type ErrorHint,
  ExecutionTimeoutError,
  type HintAdvice,
  type HintOption,
  type HintRenderer,
  InvalidPackageSpecError,
  KernelDiedError,
  KernelError,
  type KernelErrorOptions,
  KernelGoneError,
  KernelLimitError,
  KernelNotFoundError,
  KernelStartError,
} from "./errors.ts";
export {
  DEFAULT_OUTPUT_LIMIT,
  DEFAULT_TIMEOUT_MS,
  Kernel,
  startKernel,
  type StartKernelOptions,
} from "./kernel.ts";
export {
  type AllowedHost,
  DEFAULT_ALLOWED_PORTS,
  parseAllowHosts,
} from "./allow_hosts.ts";
export {
  type BwrapNetwork,
  type BwrapRunOptions,
  runUnderBwrap,
} from "./bwrap_run.ts";
export {
  DEFAULT_INDEX_HOSTS,
  indexHosts,
  installEnv,
  localIndexDirs,
} from "./install_env.ts";
export {
  type FilteringProxy,
  type FilteringProxyOptions,
  type ProxyLimits,
  startFilteringProxy,
} from "./proxy.ts";
export {
  type CommandResult,
  defaultCacheDir,
  type InstallStep,
  type KernelCommand,
  type LaunchOptions,
  type LaunchPlan,
  resolvePython,
  type SpawnWrapper,
  type WrappedKernelCommand,
} from "./launcher.ts";
export {
  type ExecuteOptions,
  type ExecuteResult,
  type HtmlOutput,
  type KernelExit,
  type KernelExitReason,
  type KernelImage,
  type KernelState,
  type Logger,
  type OutputChunk,
  type PythonError,
  SILENT_LOGGER,
} from "./messages.ts";
export {
  buildNotebook,
  type BuildNotebookOptions,
  type NotebookCell,
  type NotebookJson,
} from "./notebook.ts";
export {
  packageName,
  validatePackageSpec,
  validatePackageSpecs,
} from "./package_spec.ts";
export {
  DEFAULT_KERNEL_ID,
  type KernelInfo,
  KernelRegistry,
  type KernelRegistryOptions,
} from "./registry.ts";
export { KernelSlots, type ReleaseSlot } from "./slots.ts";
export {
  createMemoryLimiter,
  DEFAULT_SANDBOX_MEMORY_LIMIT,
  formatMemorySize,
  MemoryLimiter,
  parseMemorySize,
} from "./memory_limit.ts";
export {
  createSandboxBackend,
  sandboxArgs,
  type SandboxArgsOptions,
  SandboxBackend,
  type SandboxBackendOptions,
} from "./sandbox.ts";
export {
  checkSyntax,
  type CheckSyntaxOptions,
  createSyntaxChecker,
  type SyntaxCheck,
  type SyntaxChecker,
  type SyntaxCheckerOptions,
} from "./syntax.ts";
export {
  createRemoteBackend,
  REMOTE_START_TIMEOUT_MS,
  RemoteBackend,
  type RemoteBackendOptions,
} from "./remote/backend.ts";
export { RemoteKernel } from "./remote/kernel.ts";
export {
  type GatewayClient,
  type GatewayConfig,
  GatewayError,
  type KernelModel,
} from "./remote/rest.ts";
export { REDACTED, SecretMasker } from "./secrets.ts";
export {
  HOST_FILES,
  pathInside,
  replaceFile,
  type WorkspaceFiles,
  WorkspaceWriteError,
} from "./workspace.ts";
export { DENIED_CALLS, type DeniedCall, seccompFilter } from "./seccomp.ts";
export { tmpfsSizes, treeMemory } from "./memory_watch.ts";
