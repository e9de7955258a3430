// One command, three runtimes, one segment: a Deno writer, and a Bun and a
// Node reader of a changing counter and image, each in its own process.
// Run: npm run demo
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { uniqueName } from "../mod.ts";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const bin = (p: string) => here(`../node_modules/.bin/${p}`);
const name = uniqueName("demo_");

function start(label: string, cmd: string[], script: string, args: string[]) {
  const p = spawn(cmd[0], [...cmd.slice(1), here(script), ...args], { stdio: ["ignore", "pipe", "inherit"] });
  p.stdout!.setEncoding("utf8").on("data", (d: string) => process.stdout.write(d.replace(/^(?=.)/gm, `[${label}] `)));
  return new Promise<number>((resolve) => p.on("close", (code) => resolve(code ?? 1)));
}

console.log(`shmem demo: segment '${name}', a Deno writer, a Bun reader and a Node reader\n`);
const codes = await Promise.all([
  start("deno", [bin("deno"), "run", "--allow-ffi", "--quiet"], "writer.ts", [name, "20"]),
  start("bun ", [bin("bun"), "run"], "reader.ts", [name]),
  start("node", [bin("node"), "--no-warnings"], "reader.ts", [name]),
]);
process.exitCode = codes.some((c) => c !== 0) ? 1 : 0;
console.log(
  codes.every((c) => c === 0)
    ? "\nAll three processes shared one segment; nothing is left behind."
    : "\nA process failed.",
);
