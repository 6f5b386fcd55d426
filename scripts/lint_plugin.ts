/**
 * Project lint rules (`deno.json` `lint.plugins`), in the manner of std's
 * `_tools/lint_plugin.ts`: code rules of STYLE.md §2 and §4 that the module
 * graph check (`scripts/check_layers.ts`) cannot see.
 *
 * - `coder/process-access-in-cli`: outside `src/cli/`, no `Deno.args`,
 *   `Deno.env`, `Deno.exit`, `Deno.exitCode`, `Deno.stdin`, `Deno.stdout`,
 *   `Deno.stderr`, `process.env`, `process.argv`, `process.exit` or
 *   `node:process` (`console` is the built-in `no-console` rule).
 * - `coder/no-module-mutable-state`: no module-level `let` or `var` in `src/`.
 * - `coder/exit-only-in-main`: in `src/cli/`, `Deno.exit` and `Deno.exitCode`
 *   only inside the `if (import.meta.main)` guard of an entry file; below
 *   `main`, exit codes are returned, and a forced stop calls `io.exit`.
 *
 * @module
 */

const DENO_PROCESS = new Set([
  "args",
  "env",
  "exit",
  "exitCode",
  "stdin",
  "stdout",
  "stderr",
]);
const NODE_PROCESS = new Set(["env", "argv", "exit"]);

function inSrc(filename: string): boolean {
  return /[\\/]src[\\/]/.test(filename);
}

function inCli(filename: string): boolean {
  return /[\\/]src[\\/]cli[\\/]/.test(filename);
}

function propertyName(node: Deno.lint.MemberExpression): string | null {
  if (node.property.type === "Identifier" && !node.computed) {
    return node.property.name;
  }
  if (
    node.property.type === "Literal" && typeof node.property.value === "string"
  ) {
    return node.property.value;
  }
  return null;
}

/** Whether `node` is `import.meta.main`. */
function isImportMetaMain(node: Deno.lint.Node): boolean {
  return node.type === "MemberExpression" &&
    node.object.type === "MetaProperty" &&
    node.object.meta.name === "import" &&
    node.object.property.name === "meta" &&
    propertyName(node) === "main";
}

/** Whether `node` sits inside an `if (import.meta.main)` statement. */
function underMainGuard(node: Deno.lint.Node): boolean {
  let at: Deno.lint.Node | Deno.lint.TSParameterProperty = node;
  while (at.type !== "Program") {
    if (at.type === "IfStatement" && isImportMetaMain(at.test)) return true;
    if (!("parent" in at)) return false;
    at = at.parent;
  }
  return false;
}

/** The plugin: three rules under the `coder` prefix. */
const plugin: Deno.lint.Plugin = {
  name: "coder",
  rules: {
    "process-access-in-cli": {
      create(context) {
        if (!inSrc(context.filename) || inCli(context.filename)) return {};
        return {
          MemberExpression(node) {
            if (node.object.type !== "Identifier") return;
            const name = propertyName(node);
            if (name === null) return;
            const owner = node.object.name;
            if (
              (owner === "Deno" && DENO_PROCESS.has(name)) ||
              (owner === "process" && NODE_PROCESS.has(name))
            ) {
              context.report({
                node,
                message:
                  `${owner}.${name} outside src/cli/: only the entry layer touches the process; pass values down as options`,
              });
            }
          },
          ImportDeclaration(node) {
            if (node.source.value === "node:process") {
              context.report({
                node,
                message:
                  "node:process outside src/cli/: only the entry layer touches the process",
              });
            }
          },
        };
      },
    },
    "exit-only-in-main": {
      create(context) {
        if (!inCli(context.filename)) return {};
        return {
          MemberExpression(node) {
            if (
              node.object.type !== "Identifier" || node.object.name !== "Deno"
            ) return;
            const name = propertyName(node);
            if (name !== "exit" && name !== "exitCode") return;
            if (underMainGuard(node)) return;
            context.report({
              node,
              message:
                `Deno.${name} below main: return the exit code from main(args, io), or call io.exit for a forced stop`,
            });
          },
        };
      },
    },
    "no-module-mutable-state": {
      create(context) {
        if (!inSrc(context.filename)) return {};
        return {
          VariableDeclaration(node) {
            if (node.kind !== "let" && node.kind !== "var") return;
            const parent = node.parent;
            const topLevel = parent.type === "Program" ||
              (parent.type === "ExportNamedDeclaration" &&
                parent.parent.type === "Program");
            if (topLevel) {
              context.report({
                node,
                message:
                  `module-level ${node.kind}: no module-level mutable state; keep it in an object its owner creates`,
              });
            }
          },
        };
      },
    },
  },
};

export default plugin;
