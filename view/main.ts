/// <reference lib="dom" />
/**
 * The notebook view's script (runs in the host's sandboxed iframe; bundled
 * into `src/mcp/view/notebook.html` by `deno task build:view`; checked on its own (`deno check view/`) because it needs the DOM types). It speaks the MCP Apps
 * bridge (JSON-RPC over `postMessage` with the host, SEP-1865) directly:
 * `ui/initialize`, then `tools/call` of `notebook_view` for data. The
 * extension's `App` class works but would make the document 680 KB (it
 * bundles the MCP client and zod); this client is a few hundred lines.
 *
 * Kernel-produced HTML goes through DOMPurify (no scripts, no event
 * handlers, no styles, only `data:` image URLs); everything else is set as
 * text.
 *
 * @module
 */

import DOMPurify from "dompurify";

/** The bridge protocol version this view speaks. */
const PROTOCOL_VERSION = "2026-01-26";
/** How often a running job is re-read while "follow" is on (ms). */
const FOLLOW_INTERVAL_MS = 1000;

interface ViewCell {
  execution_count: number | null;
  code: string;
  stdout: string;
  stderr: string;
  result: string | null;
  html: { html: string; is_result: boolean }[];
  images: { mime_type: string; data: string }[];
  images_omitted: number;
  error: { ename: string; evalue: string; traceback: string } | null;
}

interface ViewJob {
  job_id: string;
  status: string;
  elapsed_seconds: number;
  code: string;
  stdout: string;
  stderr: string;
}

interface ViewSnapshot {
  kernel_id: string;
  active: boolean;
  cells: ViewCell[];
  jobs: ViewJob[];
}

interface RpcMessage {
  jsonrpc: "2.0";
  id?: number | string;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

const SANITIZE = {
  FORBID_TAGS: [
    "style",
    "link",
    "meta",
    "base",
    "form",
    "input",
    "button",
    "textarea",
    "select",
    "iframe",
    "object",
    "embed",
    "svg",
    "math",
  ],
  FORBID_ATTR: ["style", "srcset", "action", "formaction", "ping"],
  ALLOWED_URI_REGEXP: /^(?:data:image\/(?:png|jpeg|gif|webp);base64,|#)/i,
};

/** Sanitises kernel-produced HTML into a fragment safe to insert. */
function safeHtml(html: string): DocumentFragment {
  return DOMPurify.sanitize(html, {
    ...SANITIZE,
    RETURN_DOM_FRAGMENT: true,
  }) as unknown as DocumentFragment;
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function outputBlock(label: string, className: string, text: string) {
  const pre = element("pre", `out ${className}`, text);
  pre.setAttribute("aria-label", label);
  return pre;
}

function imageSource(image: { mime_type: string; data: string }): string {
  const data = image.mime_type === "image/svg+xml"
    ? btoa(unescape(encodeURIComponent(image.data)))
    : image.data;
  return `data:${image.mime_type};base64,${data}`;
}

function renderCell(cell: ViewCell, index: number): HTMLElement {
  const section = element("section", "cell");
  section.setAttribute("aria-label", `Cell ${index + 1}`);
  section.tabIndex = 0;
  const head = element(
    "h2",
    "prompt",
    `In [${cell.execution_count ?? " "}]`,
  );
  section.append(head, element("pre", "code", cell.code));
  if (cell.stdout) section.append(outputBlock("stdout", "stdout", cell.stdout));
  if (cell.stderr) section.append(outputBlock("stderr", "stderr", cell.stderr));
  cell.images.forEach((image, n) => {
    const img = element("img", "image");
    img.src = imageSource(image);
    img.alt = `Image ${n + 1} of cell ${index + 1}`;
    section.append(img);
  });
  if (cell.images_omitted > 0) {
    section.append(
      element(
        "p",
        "note",
        `${cell.images_omitted} image(s) not shown (size limit).`,
      ),
    );
  }
  let resultAsHtml = false;
  for (const item of cell.html) {
    const box = element("div", "html");
    box.append(safeHtml(item.html));
    section.append(box);
    resultAsHtml ||= item.is_result;
  }
  if (cell.result !== null && !resultAsHtml) {
    section.append(outputBlock("result", "result", cell.result));
  }
  if (cell.error) {
    const box = element("div", "error");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "error");
    box.append(
      element("strong", "ename", `${cell.error.ename}: ${cell.error.evalue}`),
      element("pre", "traceback", cell.error.traceback),
    );
    section.append(box);
  }
  return section;
}

function renderJob(job: ViewJob): HTMLElement {
  const section = element("section", "cell job");
  section.dataset.job = job.job_id;
  section.tabIndex = 0;
  section.setAttribute("aria-label", `Job ${job.job_id}`);
  section.append(
    element(
      "h2",
      "prompt",
      `Job ${job.job_id}: ${job.status} (${job.elapsed_seconds} s)`,
    ),
    element("pre", "code", job.code),
  );
  if (job.stdout) section.append(outputBlock("stdout", "stdout", job.stdout));
  if (job.stderr) section.append(outputBlock("stderr", "stderr", job.stderr));
  return section;
}

/** The view: bridge, state and rendering, created once by `main`. */
class NotebookView {
  #nextId = 1;
  #pending = new Map<number, {
    resolve: (value: Record<string, unknown>) => void;
    reject: (error: Error) => void;
  }>();
  #kernelId: string | undefined;
  #followTimer: ReturnType<typeof setTimeout> | undefined;
  #loading = false;
  #again = false;
  readonly #cells: HTMLElement;
  readonly #status: HTMLElement;
  readonly #follow: HTMLInputElement;

  constructor() {
    this.#cells = document.getElementById("cells")!;
    this.#status = document.getElementById("status")!;
    this.#follow = document.getElementById("follow") as HTMLInputElement;
    document.getElementById("refresh")!.addEventListener(
      "click",
      () => void this.refresh(),
    );
    this.#follow.addEventListener("change", () => {
      if (this.#follow.checked) void this.refresh();
    });
    globalThis.addEventListener("message", (event) => {
      if (event.source !== globalThis.parent) return;
      this.#receive(event.data as RpcMessage);
    });
    new ResizeObserver(() => {
      this.#notify("ui/notifications/size-changed", {
        width: document.documentElement.scrollWidth,
        height: document.documentElement.scrollHeight,
      });
    }).observe(document.body);
  }

  #send(message: RpcMessage): void {
    globalThis.parent.postMessage(message, "*");
  }

  #notify(method: string, params: Record<string, unknown>): void {
    this.#send({ jsonrpc: "2.0", method, params });
  }

  #request(
    method: string,
    params: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#send({ jsonrpc: "2.0", id, method, params });
    });
  }

  #receive(message: RpcMessage): void {
    if (!message || message.jsonrpc !== "2.0") return;
    if (message.method === undefined && typeof message.id === "number") {
      const waiter = this.#pending.get(message.id);
      if (!waiter) return;
      this.#pending.delete(message.id);
      if (message.error) waiter.reject(new Error(message.error.message));
      else waiter.resolve(message.result ?? {});
      return;
    }
    const params = message.params ?? {};
    switch (message.method) {
      case "ui/notifications/tool-input": {
        const args = params.arguments as Record<string, unknown> | undefined;
        if (typeof args?.kernel_id === "string" && args.kernel_id !== "") {
          this.#kernelId = args.kernel_id;
        }
        break;
      }
      case "ui/notifications/tool-result": {
        const data = params.structuredContent as
          | Record<string, unknown>
          | undefined;
        if (typeof data?.kernel_id === "string") {
          this.#kernelId = data.kernel_id;
        }
        void this.refresh();
        break;
      }
      case "ui/notifications/host-context-changed":
        this.#applyContext(params);
        break;
      default:
        // Requests from the host (teardown, ping) get an empty result.
        if (message.id !== undefined && message.method !== undefined) {
          this.#send({ jsonrpc: "2.0", id: message.id, result: {} });
        }
    }
  }

  #applyContext(context: Record<string, unknown>): void {
    const theme = context.theme;
    if (theme === "light" || theme === "dark") {
      document.documentElement.dataset.theme = theme;
    }
  }

  /** Connects to the host (`ui/initialize`) and takes its theme. */
  async start(): Promise<void> {
    const result = await this.#request("ui/initialize", {
      appInfo: { name: "ipython_mcp notebook view", version: "1" },
      appCapabilities: {},
      protocolVersion: PROTOCOL_VERSION,
    });
    this.#applyContext((result.hostContext ?? {}) as Record<string, unknown>);
    this.#notify("ui/notifications/initialized", {});
  }

  /** Reads the kernel's cells and jobs through the host and shows them. */
  async refresh(): Promise<void> {
    if (this.#loading) {
      this.#again = true;
      return;
    }
    this.#loading = true;
    clearTimeout(this.#followTimer);
    // aria-busy: assistive technology (and a test) waits for the cells
    // until the last refresh asked for is shown.
    this.#cells.setAttribute("aria-busy", "true");
    this.#status.textContent = "Loading…";
    try {
      const result = await this.#request("tools/call", {
        name: "notebook_view",
        arguments: this.#kernelId ? { kernel_id: this.#kernelId } : {},
      });
      const data = result.structuredContent as ViewSnapshot | undefined;
      if (result.isError || !data) {
        throw new Error(
          ((result.content as { text?: string }[] | undefined)?.[0]?.text) ??
            "no data",
        );
      }
      this.#render(data);
    } catch (error) {
      this.#status.textContent = `Could not load the notebook: ${
        error instanceof Error ? error.message : String(error)
      }`;
    } finally {
      this.#loading = false;
      if (!this.#again) this.#cells.setAttribute("aria-busy", "false");
    }
    if (this.#again) {
      this.#again = false;
      await this.refresh();
    }
  }

  #render(data: ViewSnapshot): void {
    // A re-render replaces every section: a keyboard user who had a cell
    // focused keeps that cell (same label), not a jump back to the page.
    const focused = document.activeElement?.closest("section.cell")
      ?.getAttribute("aria-label");
    this.#cells.replaceChildren(
      ...data.cells.map(renderCell),
      ...data.jobs.map(renderJob),
    );
    if (focused) {
      const again = [...this.#cells.querySelectorAll("section.cell")]
        .find((section) => section.getAttribute("aria-label") === focused);
      (again as HTMLElement | undefined)?.focus({ preventScroll: true });
    }
    const running = data.jobs.length;
    this.#status.textContent = `Kernel ${data.kernel_id}: ${
      data.active ? "" : "not running, "
    }${data.cells.length} cell${data.cells.length === 1 ? "" : "s"}${
      running ? `, ${running} running job${running === 1 ? "" : "s"}` : ""
    }`;
    document.body.dataset.kernel = data.kernel_id;
    document.body.dataset.cells = String(data.cells.length);
    document.body.dataset.jobs = String(running);
    if (running > 0 && this.#follow.checked) {
      this.#followTimer = setTimeout(
        () => void this.refresh(),
        FOLLOW_INTERVAL_MS,
      );
    }
  }
}

function main(): void {
  const view = new NotebookView();
  view.start().then(
    () => view.refresh(),
    (error) => {
      document.getElementById("status")!.textContent =
        `Could not connect to the host: ${error}`;
    },
  );
}

main();
