// Request-response round trips in Deno, Bun and Node, each against a Unix socket request/response of the same
// runtime in the same run, pinned to one CPU and to two, with views that detach (the default) and with kept views
// (`detach: false`); prints a Markdown table.
// Usage: node bench/request_response.bench.ts [runtimes=deno,bun,node] [placements=one,two] [sizes=64,65536]
// Needs `taskset` (util-linux) and Linux.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { uniqueName } from "../mod.ts";
import { command } from "../tests/helpers.ts";
import type { Runtime } from "../tests/helpers.ts";

const runtimes = (process.argv[2] ?? "deno,bun,node").split(",");
const wanted = (process.argv[3] ?? "one,two").split(",");
const sizes = (process.argv[4] ?? "64,65536").split(",").map(Number);
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

function start(runtime: string, cpu: number, args: string[]): Promise<string> {
  const cmd = ["taskset", "-c", String(cpu), ...command(runtime as Runtime), here("request_response_peer.ts"), ...args];
  const p = spawn(cmd[0], cmd.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  p.stdout.setEncoding("utf8").on("data", (d) => (out += d));
  p.stderr.setEncoding("utf8").on("data", (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => p.kill("SIGKILL"), 180_000);
    p.on("close", (status) => {
      clearTimeout(timer);
      if (status === 0) resolve(out);
      else reject(new Error(`${runtime} ${args.join(" ")} failed (${status}): ${out}\n${err}`));
    });
  });
}

/** One case: the server (side b) on `cpuB`, the client (side a, which measures) on CPU 0. */
async function measure(runtime: string, kind: string, cpuB: number, bytes: number): Promise<number[]> {
  const name = kind !== "sock" ? uniqueName("shmbench_") : join(tmpdir(), `${uniqueName("shmbench_")}.sock`);
  try {
    const server = start(runtime, cpuB, [kind, "b", name, String(bytes)]);
    const [client] = await Promise.all([start(runtime, 0, [kind, "a", name, String(bytes)]), server]);
    return JSON.parse(client.trim().split("\n").pop()!).samples;
  } finally {
    if (kind === "sock") rmSync(name, { force: true });
  }
}

const placements =
  ([["one CPU (taskset -c 0 for both)", 0, "one"], ["two CPUs (taskset -c 0 and -c 1)", 1, "two"]] as const)
    .filter(([, , key]) => wanted.includes(key));
const f = (x: number) => x.toFixed(1);
const label = (n: number) => (n >= 1024 ? `${n / 1024} KiB` : `${n} B`);

console.log("Request -> response round trip between two processes (same payload size both ways), µs, median of 300");
console.log("batches of 32 (p99 of the batches beside it):\n");
console.log(
  "| runtime | placement | payload | request-response | p99 | detach: false | p99 | Unix socket | p99 | socket ÷ request-response |",
);
console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const runtime of runtimes) {
  for (const [placement, cpuB] of placements) {
    for (const bytes of sizes) {
      const rr = await measure(runtime, "rr", cpuB, bytes);
      const keep = await measure(runtime, "keep", cpuB, bytes);
      const sock = await measure(runtime, "sock", cpuB, bytes);
      const [m, s] = [quantile(rr, 0.5), quantile(sock, 0.5)];
      console.log(
        `| ${runtime} | ${placement} | ${label(bytes)} | ${f(m)} | ${f(quantile(rr, 0.99))} | ${
          f(quantile(keep, 0.5))
        } | ${f(quantile(keep, 0.99))} | ${f(s)} | ${f(quantile(sock, 0.99))} | ${(s / m).toFixed(2)}× |`,
      );
    }
  }
}
