/**
 * A minimal MCP Apps host (SEP-1865) in a real headless Chromium, for the
 * notebook view's tests and benchmark: the host page puts the view's HTML
 * (read from the server with `resources/read`) in a sandboxed iframe and
 * answers the view's bridge messages (`ui/initialize`, `tools/call`,
 * `resources/read`) by forwarding them to the SDK client of the real server.
 * Every request the page makes is logged (CDP), per frame.
 *
 * @module
 */

import puppeteer, {
  type Browser,
  type Frame,
  type HTTPRequest,
  type Page,
} from "puppeteer-core";

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** The part of an MCP client the host forwards to. */
export interface BridgeTarget {
  /** tools/call. */
  callTool(
    params: { name: string; arguments?: Record<string, unknown> },
  ): Promise<unknown>;
  /** resources/read. */
  readResource(params: { uri: string }): Promise<unknown>;
}

/** A network request the page made. */
export interface LoggedRequest {
  /** The URL. */
  url: string;
  /** Name of the frame that made it ("view", "control", or "" for the host). */
  frame: string;
}

/** Options of {@linkcode openHost}. */
export interface HostOptions {
  /** The view's HTML (from the server's `ui://` resource). */
  viewHtml: string;
  /** The host's theme, sent in `hostContext` and as prefers-color-scheme. */
  theme: "light" | "dark";
  /** HTML put unprotected into a second iframe (shows a payload is live). */
  controlHtml?: string;
  /** Viewport width; default 900. */
  width?: number;
}

/** A host page with the view loaded and initialised. */
export interface ViewHost {
  /** The page. */
  page: Page;
  /** The view's frame. */
  view: Frame;
  /** Requests made so far. */
  requests: LoggedRequest[];
  /** Messages from any frame that were not bridge messages. */
  strayMessages(): Promise<unknown[]>;
  /** Sends `ui/notifications/tool-input`. */
  toolInput(args: Record<string, unknown>): Promise<void>;
  /** Sends `ui/notifications/tool-result`. */
  toolResult(result: unknown): Promise<void>;
}

/**
 * Starts headless Chromium.
 *
 * @returns The browser; close it when done.
 */
export async function launchChromium(): Promise<Browser> {
  return await puppeteer.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // A wait that never ends fails the test in a minute, not in three.
    protocolTimeout: 60_000,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
  });
}

const HOST_PAGE = `<!doctype html><html><head><meta charset="utf-8">
<style>body{margin:0;background:#888}iframe{border:0;width:100%;height:200px;display:block}</style>
</head><body><iframe id="view" name="view" sandbox="allow-scripts"></iframe>
<iframe id="control" name="control" sandbox="allow-scripts"></iframe>
<script>
(() => {
  const view = document.getElementById("view");
  const stray = [];
  window.__stray = stray;
  let ready;
  window.__ready = new Promise((resolve) => ready = resolve);
  const post = (message) => view.contentWindow.postMessage(message, "*");
  window.__notify = (method, params) => post({ jsonrpc: "2.0", method, params });
  window.addEventListener("message", async (event) => {
    const message = event.data;
    if (event.source !== view.contentWindow || !message || message.jsonrpc !== "2.0") {
      stray.push(message);
      return;
    }
    if (message.method === "ui/notifications/initialized") return ready();
    if (message.method === "ui/notifications/size-changed") {
      view.style.height = Math.max(200, message.params.height) + "px";
      return;
    }
    if (message.id === undefined) return;
    try {
      let result;
      if (message.method === "ui/initialize") {
        result = {
          protocolVersion: message.params.protocolVersion,
          hostInfo: { name: "test-host", version: "0" },
          hostCapabilities: { serverTools: {}, serverResources: {} },
          hostContext: { theme: window.__theme, displayMode: "inline" },
        };
      } else if (message.method === "tools/call" || message.method === "resources/read") {
        result = JSON.parse(await window.__mcp(message.method, JSON.stringify(message.params)));
      } else {
        throw new Error("Method not found: " + message.method);
      }
      post({ jsonrpc: "2.0", id: message.id, result });
    } catch (error) {
      post({ jsonrpc: "2.0", id: message.id, error: { code: -32603, message: String(error) } });
    }
  });
})();
</script></body></html>`;

function frameName(request: HTTPRequest): string {
  try {
    return request.frame()?.name() ?? "";
  } catch {
    return "";
  }
}

/**
 * Opens a host page in the browser, loads the view and waits until it has
 * initialised (`ui/notifications/initialized`).
 *
 * @param browser The browser.
 * @param target The MCP client the bridge forwards to.
 * @param options View HTML, theme, control HTML.
 * @returns The host.
 */
export async function openHost(
  browser: Browser,
  target: BridgeTarget,
  options: HostOptions,
): Promise<ViewHost> {
  const page = await browser.newPage();
  await page.setViewport({ width: options.width ?? 900, height: 700 });
  await page.emulateMediaFeatures([{
    name: "prefers-color-scheme",
    value: options.theme,
  }]);
  const requests: LoggedRequest[] = [];
  page.on("request", (request) => {
    requests.push({ url: request.url(), frame: frameName(request) });
  });
  await page.exposeFunction(
    "__mcp",
    async (method: string, paramsJson: string): Promise<string> => {
      const params = JSON.parse(paramsJson);
      const result = method === "tools/call"
        ? await target.callTool(params)
        : await target.readResource(params);
      return JSON.stringify(result);
    },
  );
  await page.setContent(HOST_PAGE);
  await page.evaluate(
    (theme, viewHtml, controlHtml) => {
      const w = globalThis as unknown as {
        __theme: string;
        document: {
          getElementById(id: string): { srcdoc: string };
        };
      };
      w.__theme = theme;
      if (controlHtml) {
        w.document.getElementById("control").srcdoc = controlHtml;
      }
      w.document.getElementById("view").srcdoc = viewHtml;
    },
    options.theme,
    options.viewHtml,
    options.controlHtml ?? "",
  );
  await page.evaluate(() =>
    (globalThis as unknown as { __ready: Promise<void> }).__ready
  );
  const view = page.frames().find((frame) => frame.name() === "view");
  if (!view) throw new Error("The view's frame is missing");
  const notify = async (method: string, params: unknown) => {
    await page.evaluate(
      (m, p) =>
        (globalThis as unknown as {
          __notify(method: string, params: unknown): void;
        }).__notify(m, JSON.parse(p)),
      method,
      JSON.stringify(params),
    );
  };
  return {
    page,
    view,
    requests,
    strayMessages: () =>
      page.evaluate(() =>
        (globalThis as unknown as { __stray: unknown[] }).__stray
      ),
    toolInput: (args) =>
      notify("ui/notifications/tool-input", { arguments: args }),
    toolResult: (result) => notify("ui/notifications/tool-result", result),
  };
}
