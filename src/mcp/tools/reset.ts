/**
 * The python_reset tool: starts a new kernel or restarts one, optionally
 * with packages.
 *
 * @module
 */

import {
  DEFAULT_KERNEL_ID,
  InvalidPackageSpecError,
  type KernelHandle,
  validatePackageSpec,
} from "../../kernel/mod.ts";
import { resetNotFoundMessage, sessionStartedMessage } from "../messages.ts";
import { packageNameOf } from "../status_packages.ts";
import { errorAnswer, jsonAnswer } from "../tool_answer.ts";
import { z } from "zod";
import type { McpTool } from "./context.ts";
import { defineTool } from "./define.ts";
import { kernelIdSchema } from "./arguments.ts";
import { failureFields } from "./execution.ts";
import { busyAnswer } from "./busy.ts";

/** The python_reset tool. */
export const pythonReset: McpTool = defineTool({
  name: "python_reset",
  title: "Start or restart a Python kernel",
  description: `Start a fresh Python kernel, optionally with extra packages.

Without kernel_id: creates a NEW, isolated kernel and returns its kernel_id. Use this when several agents work in parallel: each agent calls python_reset() once, keeps the returned kernel_id and passes it to python_exec, python_status and python_interrupt. Kernels never share variables.

With kernel_id: restarts that kernel with the same id; all its variables are cleared. To clear the default session (used when python_exec gets no kernel_id), call python_reset(kernel_id="_default").

packages: pip requirement specs to make available, e.g. ["numpy", "pandas>=2", "scikit-learn[alldeps]"]. Installing can take a minute the first time. Only a name with optional [extras] and version constraints is accepted (no options, URLs or paths). When restarting without packages, the kernel keeps the packages it had. The answer lists the installed versions, e.g. "Session started. Packages: numpy 2.1.0".`,
  schema: z.object({
    packages: z.array(z.string()).default([]).describe(
      'Package specs to install/make available, e.g. ["numpy", "pandas>=2"].',
    ),
    kernel_id: kernelIdSchema.describe(
      "Kernel to restart. Omit to create a new kernel and get its id.",
    ),
  }),
  output: z.looseObject({
    ...failureFields,
    kernel_id: z.string().optional(),
    message: z.string().optional(),
  }),
  annotations: {
    readOnlyHint: false,
    destructiveHint: true,
    idempotentHint: false,
    openWorldHint: true,
  },
  async handler({ packages, kernel_id }, context) {
    const { registry } = context;
    if (kernel_id !== undefined) {
      const busy = busyAnswer(context, kernel_id);
      if (busy) return busy;
    }
    let specs: string[];
    try {
      specs = packages.map(validatePackageSpec);
    } catch (error) {
      if (error instanceof InvalidPackageSpecError) {
        return errorAnswer(
          `${error.message}. Give only a package name with optional [extras] and version constraint, e.g. "numpy" or "pandas>=2".`,
          kernel_id ? { kernel_id } : {},
        );
      }
      throw error;
    }
    const options = specs.length > 0 ? { packages: specs } : {};
    let id: string;
    let kernel: KernelHandle;
    if (kernel_id === undefined) {
      ({ id, kernel } = await registry.create(options));
    } else if (registry.has(kernel_id)) {
      id = kernel_id;
      context.replaced.add(registry.get(kernel_id));
      kernel = await registry.restart(kernel_id, options);
    } else if (registry.died(kernel_id)) {
      // A kernel that died answers so until it is started again here.
      id = kernel_id;
      kernel = await registry.restart(kernel_id, options);
    } else if (kernel_id === DEFAULT_KERNEL_ID) {
      id = kernel_id;
      kernel = await registry.ensureDefault(options);
    } else {
      return errorAnswer(resetNotFoundMessage(kernel_id), {
        kernel_id,
      });
    }
    const names = kernel.packages.map(packageNameOf);
    const versions = names.length > 0
      ? await kernel.packageVersions(names)
      : {};
    return jsonAnswer({
      success: true,
      kernel_id: id,
      message: sessionStartedMessage(names, versions),
    });
  },
});
