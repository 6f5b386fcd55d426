/**
 * Scripted model answers per task for evaluations that run tasks at once:
 * a request is routed by the `TASK-ID name` marker in its system prompt (else
 * the task's `# Heading`), and
 * the answer is picked by the step (assistant messages so far).
 *
 * @module
 */

import type {
  FakeReply,
  FakeReplyValue,
  RecordedRequest,
} from "./fake_openai.ts";

/** One task's answers, by step (0-based). */
export type TaskScript = FakeReplyValue[];

/**
 * The task a request belongs to (the `TASK-ID name` marker, else the task's
 * first-line `# Heading`), or null.
 *
 * @param request A recorded request.
 * @returns The task id.
 */
export function taskOf(request: RecordedRequest): string | null {
  const messages = request.body.messages as { content?: unknown }[] | undefined;
  const system = String(messages?.[0]?.content ?? "");
  return /TASK-ID (\w+)/.exec(system)?.[1] ??
    /<task>\n# ([^\n]+)/.exec(system)?.[1] ?? null;
}

/**
 * Replies for `startFakeOpenAI` that answer each task from its script.
 *
 * @param scripts Answers per task id.
 * @param count How many requests the server may get in all.
 * @returns The replies.
 */
export function routeByTask(
  scripts: Record<string, TaskScript>,
  count = 500,
): FakeReply[] {
  const reply = (request: RecordedRequest): FakeReplyValue => {
    const task = taskOf(request);
    const messages = request.body.messages as { role: string }[];
    const step = messages.filter((m) => m.role === "assistant").length;
    const answer = task === null ? undefined : scripts[task]?.[step];
    return answer ?? {
      status: 400,
      body: {
        error: { message: `no scripted answer for ${task} step ${step}` },
      },
    };
  };
  return Array.from({ length: count }, () => reply);
}
