/**
 * The project's structural lint rules, run by `deno lint`:
 * - `shmem/runtime-only-in-ffi`: outside ffi/, no reference to the runtimes'
 *   globals (`Deno`, `Bun`, `globalThis.process`); ffi/ is the one place that
 *   knows which runtime it runs in.
 * - `shmem/max-lines`: no library source file over 500 lines.
 * - `shmem/doc-examples`: a library file with a code example in its JSDoc is
 *   one `npm run test:docs` runs, and its examples assert with
 *   `node:assert`, never `console.assert` (which only logs).
 *
 * @module
 */
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const RUNTIME_GLOBALS = new Set(["Deno", "Bun"]);
const MAX_LINES = 500;
/** A fenced code block that `deno test --doc` runs. */
const EXAMPLE = /```(?:ts|tsx|js|jsx|typescript|javascript)\b/;
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

let tested: Set<string> | undefined;

/** The files `npm run test:docs` runs the examples of, relative to the root (package.json read once a lint run). */
function docTested(): Set<string> {
  if (tested === undefined) {
    const scripts = JSON.parse(Deno.readTextFileSync(join(ROOT, "package.json"))).scripts;
    tested = new Set(String(scripts["test:docs"]).split(/\s+/).filter((arg) => arg.endsWith(".ts")));
  }
  return tested;
}

/** Whether `filename` is outside the library (tests, tools, bench, examples). */
function outside(filename: string): boolean {
  return /[/\\](tests|tools|bench|examples|node_modules)[/\\]/.test(filename);
}

/** Whether `filename` may name the runtimes: ffi/, and code outside the library. */
function exempt(filename: string): boolean {
  return outside(filename) || /[/\\]ffi[/\\]/.test(filename);
}

const plugin: Deno.lint.Plugin = {
  name: "shmem",
  rules: {
    "runtime-only-in-ffi": {
      create(context) {
        if (exempt(context.filename)) return {};
        return {
          Identifier(node) {
            if (!RUNTIME_GLOBALS.has(node.name)) return;
            const parent = node.parent;
            // A property name (`x.Deno`, `{ Deno: 1 }`) is not the global.
            if (parent?.type === "MemberExpression" && parent.property === node && !parent.computed) return;
            if (parent?.type === "Property" && parent.key === node) return;
            context.report({ node, message: `'${node.name}' is runtime code: reach it through ffi/` });
          },
          MemberExpression(node) {
            if (
              node.object.type === "Identifier" && node.object.name === "globalThis" &&
              node.property.type === "Identifier" && node.property.name === "process"
            ) {
              context.report({ node, message: "'globalThis.process' is runtime code: reach it through ffi/" });
            }
          },
        };
      },
    },
    "max-lines": {
      create(context) {
        if (outside(context.filename)) return {};
        return {
          Program(node) {
            const lines = context.sourceCode.text.split("\n").length;
            if (lines > MAX_LINES) {
              context.report({ node, message: `${lines} lines: split the file (at most ${MAX_LINES})` });
            }
          },
        };
      },
    },
    "doc-examples": {
      create(context) {
        if (outside(context.filename)) return {};
        const examples = context.sourceCode.getAllComments().filter((c) => c.type === "Block" && EXAMPLE.test(c.value));
        if (examples.length === 0) return {};
        const file = relative(ROOT, context.filename).replaceAll("\\", "/");
        if (!docTested().has(file)) {
          context.report({
            range: examples[0].range,
            message: `${file} has doc examples that nothing runs: add it to the test:docs script in package.json`,
          });
        }
        for (const c of examples) {
          if (c.value.includes("console.assert(")) {
            context.report({
              range: c.range,
              message: "console.assert only logs: assert with node:assert so a wrong example fails",
            });
          }
        }
        return {};
      },
    },
  },
};

export default plugin;
