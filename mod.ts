/**
 * agentic-python-coder for Deno: an autonomous ReAct coding agent over any
 * OpenAI-compatible chat API (OpenRouter by default), running its code in
 * persistent IPython kernels driven over the Jupyter protocol.
 *
 * Three layers are exported here:
 *
 * - **agent**: {@linkcode solveTask} for a whole task,
 *   {@linkcode createCodingAgent} + {@linkcode runAgent} for multi-turn use,
 *   {@linkcode getFinalResponse}.
 * - **llm**: {@linkcode getOpenrouterLlm}, {@linkcode listAvailableModels},
 *   {@linkcode loadModelConfig}, {@linkcode createChatClient}.
 * - **kernel**: {@linkcode startKernel}, {@linkcode KernelRegistry},
 *   {@linkcode checkSyntax} and the kernel errors.
 *
 * Nothing here reads the environment on its own: pass `env` (for example
 * `Deno.env.toObject()`) so the agent can find the API key and the kernel can
 * find Python. Needs `--allow-read --allow-write --allow-run --allow-env
 * --allow-net --allow-sys`.
 *
 * @example Solve a task
 * ```ts
 * import { getFinalResponse, solveTask } from "./mod.ts";
 *
 * const { messages, stats, logPath } = await solveTask(
 *   "Write a function that returns the n-th Fibonacci number",
 *   { workingDirectory: "/tmp/workspace", model: "sonnet45", env: Deno.env.toObject() },
 * );
 * console.log(getFinalResponse(messages));
 * console.log(stats.token_consumption, stats.cost_usd, logPath);
 * ```
 *
 * @example Several turns with one agent (state persists)
 * ```ts
 * import { createCodingAgent, getFinalResponse, runAgent } from "./mod.ts";
 *
 * await using agent = await createCodingAgent({
 *   workingDirectory: "/tmp/workspace",
 *   model: "deepseek31",
 *   withPackages: ["pandas"],
 *   env: Deno.env.toObject(),
 * });
 * await runAgent(agent, "Load data.csv");
 * const { messages, stats } = await runAgent(agent, "Now plot column A");
 * console.log(getFinalResponse(messages), stats.tool_usage);
 * ```
 *
 * @example Models and a raw chat call
 * ```ts
 * import { getOpenrouterLlm, listAvailableModels, loadModelConfig } from "./mod.ts";
 *
 * console.log(listAvailableModels()); // ["deepseek31", ..., "sonnet45"]
 * console.log((await loadModelConfig("gpt52")).path); // "openai/gpt-5.2"
 * const llm = await getOpenrouterLlm("sonnet45", { env: Deno.env.toObject() });
 * const { message } = await llm.complete({ messages: [{ role: "user", content: "Hi" }] });
 * console.log(message.content);
 * ```
 *
 * @example A kernel on its own
 * ```ts
 * import { startKernel } from "./mod.ts";
 *
 * await using kernel = await startKernel({ cwd: "/tmp", env: Deno.env.toObject() });
 * const result = await kernel.execute("x = 6 * 7\nx");
 * console.log(result.result); // "42"
 * ```
 *
 * @module
 */

export {
  type AgentEvent,
  AgentLog,
  type AgentStats,
  type AgentTool,
  CodingAgent,
  type CodingAgentOptions,
  combineStats,
  createCodingAgent,
  DEFAULT_STEP_LIMIT,
  getFinalResponse,
  type LogEvent,
  type LoggedTodo,
  parseProjectFile,
  type ProjectFile,
  runAgent,
  type RunAgentOptions,
  type RunAgentResult,
  type RunStatus,
  SecretMasker,
  solveTask,
  type SolveTaskOptions,
  type SolveTaskResult,
  type TodoItem,
  type TodoPriority,
  type TodoStatus,
  type TokenConsumption,
  type ToolHost,
  type ToolOutcome,
} from "./src/agent/mod.ts";
export {
  type AssistantMessage,
  type ChatClient,
  type ChatClientOptions,
  type ChatCompletion,
  type ChatMessage,
  type ChatRequest,
  createChatClient,
  DEFAULT_MODEL,
  getOpenrouterLlm,
  type GetOpenrouterLlmOptions,
  listAvailableModels,
  LlmError,
  type LlmLogger,
  LlmRequestError,
  LlmResponseError,
  loadModelConfig,
  type LoadModelConfigOptions,
  MissingApiKeyError,
  type ModelConfig,
  ModelConfigError,
  OPENROUTER_BASE_URL,
  parseModelConfig,
  type SystemMessage,
  type TokenUsage,
  type ToolCall,
  type ToolDefinition,
  type ToolMessage,
  UnknownModelError,
  type UserMessage,
} from "./src/llm/mod.ts";
export {
  type BackendKind,
  checkSyntax,
  type CheckSyntaxOptions,
  createLocalBackend,
  createRemoteBackend,
  createSandboxBackend,
  DEFAULT_KERNEL_ID,
  type ExecuteOptions,
  type ExecuteResult,
  ExecutionTimeoutError,
  type GatewayClient,
  type GatewayConfig,
  GatewayError,
  type HtmlOutput,
  InvalidPackageSpecError,
  Kernel,
  type KernelBackend,
  type KernelCommand,
  KernelDiedError,
  KernelError,
  type KernelExit,
  type KernelExitReason,
  type KernelHandle,
  type KernelImage,
  type KernelInfo,
  KernelLimitError,
  type KernelModel,
  KernelNotFoundError,
  KernelRegistry,
  type KernelRegistryOptions,
  KernelSlots,
  KernelStartError,
  type KernelStartRequest,
  type KernelState,
  type LaunchOptions,
  type LaunchPlan,
  LocalBackend,
  type LocalBackendOptions,
  type Logger,
  type OutputChunk,
  type PythonError,
  type ReleaseSlot,
  RemoteBackend,
  type RemoteBackendOptions,
  resolvePython,
  SandboxBackend,
  type SandboxBackendOptions,
  type SocketFactory,
  type SpawnWrapper,
  startKernel,
  type StartKernelOptions,
  type SyntaxCheck,
  validatePackageSpec,
  type WrappedKernelCommand,
} from "./src/kernel/mod.ts";
export {
  connect,
  type ConnectOptions,
  type Endpoint,
  type ReceiveOptions,
  type SocketType,
  ZmtpClosedError,
  ZmtpError,
  type ZmtpSocket,
} from "./src/zmtp/mod.ts";
