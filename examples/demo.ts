// One command, three runtimes, one segment: a Deno writer, and a Bun and a
// Node reader of a changing counter and image, each in its own process.
// Run: npm run demo
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { uniqueName } from "../mod.ts";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const bin = (p: string) => here(`../node_modules/.bin/${p}`);
const name = uniqueName("demo_");

const children: ReturnType<typeof spawn>[] = [];
let interrupted = false;
// Ctrl-C or SIGTERM: pass it on, so the writer removes its segment (unlinkOnExit) and the readers stop; the demo then
// exits once all three have.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    interrupted = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
  });
}

function start(label: string, cmd: string[], script: string, args: string[]) {
  const p = spawn(cmd[0], [...cmd.slice(1), here(script), ...args], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(p);
  p.stdout!.setEncoding("utf8").on("data", (d: string) => process.stdout.write(d.replace(/^(?=.)/gm, `[${label}] `)));
  return new Promise<number>((resolve) => p.on("close", (code) => resolve(code ?? 1)));
}

console.log(`shmem demo: segment '${name}', a Deno writer, a Bun reader and a Node reader\n`);
const codes = await Promise.all([
  start("deno", [bin("deno"), "run", "--allow-ffi", "--quiet"], "writer.ts", [name, "20"]),
  start("bun ", [bin("bun"), "run"], "reader.ts", [name]),
  start("node", [bin("node"), "--no-warnings"], "reader.ts", [name]),
]);
process.exitCode = interrupted ? 130 : codes.some((c) => c !== 0) ? 1 : 0;
console.log(
  interrupted
    ? "\nInterrupted; the writer removed its segment on the way out (unlinkOnExit)."
    : codes.every((c) => c === 0)
    ? "\nAll three processes shared one segment; nothing is left behind."
    : "\nA process failed.",
);
