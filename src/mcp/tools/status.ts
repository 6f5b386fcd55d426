/**
 * The python_status tool: a kernel's state, never starting one.
 *
 * @module
 */

import {
  DEFAULT_KERNEL_ID,
  type KernelHandle,
  KernelNotFoundError,
} from "../../kernel/mod.ts";
import { packageNameOf, statusPackages } from "../status_packages.ts";
import { jsonAnswer } from "../tool_answer.ts";
import { z } from "zod";
import type { McpTool } from "./context.ts";
import { defineTool } from "./define.ts";
import { kernelIdSchema } from "./arguments.ts";
import { failureFields, jobStatusSchema } from "./execution.ts";

/** The python_status tool. */
export const pythonStatus: McpTool = defineTool({
  name: "python_status",
  title: "Show kernel state",
  description:
    `Show a kernel's state without changing anything (never starts a kernel).

Returns JSON {kernel_id, active, all_kernels, python_version, packages, variables, cwd, backend, location, jobs}: whether the kernel is running, the ids of all live kernels, its Python version, up to 20 installed packages ("name version"), the names of user-defined variables, the working directory that relative file paths use, where kernels run (backend local, sandbox or remote; location: the gateway URL of remote kernels, where cwd is kernel_cwd on the server), and every background job (job_id, kernel_id, status, elapsed_seconds). Call it to recall what is already defined before writing more code, or to find where files go. While the kernel is busy running code, variables and packages are not read (busy: true).`,
  schema: z.object({
    kernel_id: kernelIdSchema.describe(
      "Kernel to inspect. Omit for the default session.",
    ),
  }),
  output: z.looseObject({
    ...failureFields,
    kernel_id: z.string().optional(),
    active: z.boolean().optional(),
    busy: z.boolean().optional(),
    all_kernels: z.array(z.string()).optional(),
    python_version: z.string().nullable().optional(),
    packages: z.array(z.string()).nullable().optional(),
    variables: z.array(z.string()).nullable().optional(),
    cwd: z.string().optional(),
    backend: z.enum(["local", "sandbox", "remote"]).optional(),
    location: z.string().nullable().optional(),
    kernel_cwd: z.string().optional(),
    note: z.string().optional(),
    jobs: z.array(z.looseObject({
      job_id: z.string(),
      kernel_id: z.string(),
      status: jobStatusSchema,
      elapsed_seconds: z.number(),
    })).optional(),
  }),
  annotations: {
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  async handler({ kernel_id }, context) {
    const { registry, cwd } = context;
    const id = kernel_id ?? DEFAULT_KERNEL_ID;
    const allKernels = registry.list().map((info) => info.id);
    const jobs = context.jobs.list().map((job) => ({
      job_id: job.id,
      kernel_id: job.kernelId,
      status: job.status,
      elapsed_seconds: context.jobs.elapsedSeconds(job),
    }));
    const inactive = {
      success: true,
      kernel_id: id,
      active: false,
      all_kernels: allKernels,
      python_version: null,
      packages: [],
      variables: [],
      cwd,
      backend: registry.backend.kind,
      location: registry.backend.location,
      jobs,
    };
    if (!registry.has(id)) {
      const gone = registry.died(id);
      return jsonAnswer(gone ? { ...inactive, note: gone.message } : inactive);
    }
    let kernel: KernelHandle;
    try {
      kernel = registry.get(id);
    } catch (error) {
      if (error instanceof KernelNotFoundError) return jsonAnswer(inactive);
      throw error;
    }
    if (kernel.busy) {
      return jsonAnswer({
        ...inactive,
        active: true,
        busy: true,
        packages: null,
        variables: null,
        note:
          "The kernel is running code; variables and packages are read when it is idle. Use python_interrupt to stop it.",
      });
    }
    const state = await kernel.inspect();
    return jsonAnswer({
      success: true,
      kernel_id: id,
      active: true,
      all_kernels: allKernels,
      python_version: state.pythonVersion,
      packages: statusPackages(
        state.packages,
        kernel.packages.map(packageNameOf),
      ),
      variables: state.variables,
      cwd,
      jobs,
      backend: kernel.backend,
      location: kernel.location,
      ...(kernel.capabilities.sharedFiles ? {} : { kernel_cwd: kernel.cwd }),
    });
  },
});
