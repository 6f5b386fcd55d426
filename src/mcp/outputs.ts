/**
 * The list of a tool answer's images and saved files, put into the JSON
 * object itself (`outputs`), so a client that shows the model only
 * `structuredContent` (Codex) still learns of every image and file, with its
 * MIME type and resource URI.
 *
 * @module
 */

import { resourceLink, type ToolAnswer } from "./tool_answer.ts";

/** One image or saved file of an answer, as listed in `outputs`. */
export interface OutputEntry {
  /** `image` for an inline image, `file` for a saved file. */
  type: "image" | "file";
  /** MIME type. */
  mime_type: string;
  /**
   * `file://` URI readable through `resources/read`: the saved file, or the
   * saved copy of an inline image.
   */
  uri?: string;
  /** File name (saved files and inline images' copies). */
  name?: string;
  /** Position of the item in `content` (inline images). */
  content_index?: number;
}

/**
 * Adds `outputs` (images and saved files) to the answer's JSON object, in
 * its text item and in `structuredContent` alike. Answers without such
 * items, whose first item is not JSON text, or that list `outputs`
 * already, are returned unchanged.
 *
 * @param answer A tool answer.
 * @param imagePaths Where each inline image (in order) was saved; its entry
 *   then carries that file's URI and name.
 * @returns The answer with `outputs` listed.
 * @example An answer with a resource link
 * ```ts
 * import { withOutputList } from "./outputs.ts";
 * const answer = withOutputList({
 *   content: [
 *     { type: "text", text: "{}" },
 *     { type: "resource_link", uri: "file:///w/a.svg", name: "a.svg", mimeType: "image/svg+xml" },
 *   ],
 *   structuredContent: {},
 * });
 * answer.structuredContent; // { outputs: [{ type: "file", mime_type: "image/svg+xml", uri: "file:///w/a.svg", name: "a.svg" }] }
 * ```
 */
export function withOutputList(
  answer: ToolAnswer,
  imagePaths: readonly string[] = [],
): ToolAnswer {
  const [first, ...rest] = answer.content;
  if (!first || first.type !== "text" || rest.length === 0) return answer;
  if ("outputs" in answer.structuredContent) return answer;
  const outputs: OutputEntry[] = [];
  let images = 0;
  rest.forEach((item, index) => {
    if (item.type === "image") {
      const path = imagePaths[images++];
      const copy = path === undefined ? undefined : resourceLink(path);
      outputs.push({
        type: "image",
        mime_type: item.mimeType,
        ...(copy ? { uri: copy.uri, name: copy.name } : {}),
        content_index: index + 1,
      });
    } else if (item.type === "resource_link") {
      outputs.push({
        type: "file",
        mime_type: item.mimeType,
        uri: item.uri,
        name: item.name,
      });
    }
  });
  if (outputs.length === 0) return answer;
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(first.text);
  } catch {
    return answer;
  }
  if (typeof payload !== "object" || payload === null) return answer;
  const listed = { ...payload, outputs };
  return {
    ...answer,
    content: [{ type: "text", text: JSON.stringify(listed) }, ...rest],
    structuredContent: listed,
  };
}
