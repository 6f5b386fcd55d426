/**
 * Result shaping for the ipython_mcp tools, in one import: kernel results
 * shaped into MCP answers. Each part lives in a module of its own:
 *
 * - `tool_answer.ts`: content items, the JSON answer, resource links;
 * - `exec_result.ts`: a python_exec result with cut fields and images;
 * - `images.ts`: kernel images normalised, inlined or saved;
 * - `messages.ts`: the messages SPEC §2 and §13 fix;
 * - `limit_refusal.ts`: the kernel-limit refusal (SPEC §11);
 * - `status_packages.ts`: the packages python_status lists.
 *
 * @module
 */

export {
  type ContentItem,
  errorAnswer,
  type FileToSave,
  type ImageItem,
  jsonAnswer,
  mimeTypeOfPath,
  OUTPUT_DIR_NAME,
  resourceLink,
  type ResourceLinkItem,
  type TextItem,
  type ToolAnswer,
} from "./tool_answer.ts";
export {
  RESULT_LIMIT_CHARS,
  type ShapedExec,
  type ShapeExecOptions,
  shapeExecResult,
  TEXT_LIMIT_BYTES,
  truncateText,
  type Truncation,
  truncationMarker,
} from "./exec_result.ts";
export {
  IMAGE_INLINE_LIMIT_BYTES,
  isValidBase64,
  MAX_INLINE_IMAGES,
  type NormalizedImage,
  normalizeImage,
} from "./images.ts";
export {
  describeKernelExit,
  EMPTY_SUBMISSION,
  execNotFoundMessage,
  formatSeconds,
  INTERRUPT_SENT,
  kernelDiedMessage,
  NO_SESSION_TO_INTERRUPT,
  resetNotFoundMessage,
  restartedDuringCallMessage,
  sessionStartedMessage,
  syntaxErrorMessage,
  timeoutMessage,
} from "./messages.ts";
export {
  type KernelLimitFacts,
  kernelLimitMessage,
  type KernelLimitMessageOptions,
} from "./limit_refusal.ts";
export {
  HIDDEN_STATUS_PACKAGES,
  MAX_STATUS_PACKAGES,
  packageNameOf,
  statusPackages,
} from "./status_packages.ts";
