// Channel benchmarks in Deno, Bun and Node, each against the same runtime's
// Unix socket (and pipe), pinned to one CPU and to two; prints Markdown tables. The latency table also runs a raw
// spin-then-futex ping-pong of the same runtime (one word each way, no ring) as the baseline a channel is held to.
// Usage: node bench/channel.bench.ts [runtimes=deno,bun,node] [tables=latency,throughput] [placements=one,two]
// Needs `taskset` (util-linux) and Linux.
import { spawn, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Channel, Segment, uniqueName } from "../mod.ts";

const runtimes = (process.argv[2] ?? "deno,bun,node").split(",");
const tables = (process.argv[3] ?? "latency,throughput").split(",");
const wanted = (process.argv[4] ?? "one,two").split(",");
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const bin = (p: string) => here(`../node_modules/.bin/${p}`);
const COMMANDS: Record<string, string[]> = {
  deno: [bin("deno"), "run", "--allow-all", "--quiet"],
  bun: [bin("bun"), "run"],
  node: [bin("node"), "--no-warnings"],
};
const MIB = 1 << 20;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

function start(runtime: string, cpu: number, args: string[]) {
  const cmd = ["taskset", "-c", String(cpu), ...COMMANDS[runtime], here("channel_peer.ts"), ...args];
  const p = spawn(cmd[0], cmd.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  p.stdout.setEncoding("utf8").on("data", (d) => (out += d));
  p.stderr.setEncoding("utf8").on("data", (d) => (err += d));
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => p.kill("SIGKILL"), 120_000);
    p.on("close", (status) => {
      clearTimeout(timer);
      if (status === 0) resolve(out);
      else reject(new Error(`${runtime} ${args.join(" ")} failed (${status}): ${out}\n${err}`));
    });
  });
}

/** Runs one case with side a on CPU 0 and side b on `cpuB`; returns side a's samples. */
async function measure(runtime: string, kind: string, cpuB: number): Promise<number[]> {
  const name = uniqueName("shmbench_");
  const path = join(tmpdir(), `${name}.sock`);
  const seg = Segment.create(name, { size: 192 + 4 * MIB + 65536 });
  try {
    if (kind === "chan-ping") {
      Channel.create(seg.region(0, 4096));
      Channel.create(seg.region(4096, 4096));
    } else if (kind.startsWith("chan-")) {
      Channel.create(seg);
    }
    if (kind === "pipe-tput") spawnSync("mkfifo", [path]);
    const sides = [start(runtime, 0, [kind, "a", name, path])];
    if (kind !== "memcpy") sides.push(start(runtime, cpuB, [kind, "b", name, path]));
    const [a] = await Promise.all(sides);
    return JSON.parse(a.trim().split("\n").pop()!).samples;
  } finally {
    seg.close();
    Segment.unlink(name);
    rmSync(path, { force: true });
  }
}

const f = (x: number, digits = 2) => x.toFixed(digits);
const placements =
  ([["one CPU (taskset -c 0 for both)", 0, "one"], ["two CPUs (taskset -c 0 and -c 1)", 1, "two"]] as const)
    .filter(([, , key]) => wanted.includes(key));

if (tables.includes("latency")) await latency();
if (tables.includes("throughput")) await throughput();

async function latency() {
  console.log("Round trip of an 8-byte message between two processes, µs per round trip:");
  console.log(
    "median and p99 of 400 batches of 32 round trips, after 300 ms (and 2,000 at least) to warm up. Raw spin: one word each way,",
  );
  console.log(
    "spun on, then slept on with wait() (the floor across two CPUs; on one CPU spinning first is the trap).\n",
  );
  console.log(
    "| runtime | placement | channel | p99 | raw spin | p99 | wait/notify | p99 | best Unix socket | p99 | channel ÷ raw spin | socket ÷ channel |",
  );
  console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const runtime of runtimes) {
    for (const [label, cpuB] of placements) {
      const c = await measure(runtime, "chan-ping", cpuB);
      const r = await measure(runtime, "spin-ping", cpuB);
      const w = await measure(runtime, "futex-ping", cpuB);
      const s = await measure(runtime, "sock-ping", cpuB);
      const cm = quantile(c, 0.5);
      const sm = quantile(s, 0.5);
      const cell = (xs: number[]) => `${f(quantile(xs, 0.5))} | ${f(quantile(xs, 0.99))}`;
      console.log(
        `| ${runtime} | ${label} | ${cell(c)} | ${cell(r)} | ${cell(w)} | ${cell(s)} | **${
          (cm / quantile(r, 0.5)).toPrecision(2)
        }×** | ${f(sm / cm, 1)}× |`,
      );
    }
  }
}

async function throughput() {
  console.log("\nThroughput of 1 MiB messages between two processes, GB/s:");
  console.log("median and p99 (slowest 1 %) of 40 batches of 8 MiB. In place: reserve/commit and recvInPlace/release,");
  console.log(
    "touching only the first byte (the transport's own cost). Copying: send(), then recvInPlace + set into a",
  );
  console.log(
    "reused buffer + release (one copy in, one out, as with a socket). memcpy: Uint8Array.set in one process.\n",
  );
  console.log(
    "| runtime | placement | channel in place | p99 | channel copying | p99 | Unix socket | p99 | pipe | p99 | memcpy | in place ÷ socket | copying ÷ socket |",
  );
  console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const runtime of runtimes) {
    for (const [label, cpuB] of placements) {
      const cases = ["chan-inplace", "chan-copy", "sock-tput", "pipe-tput", "memcpy"];
      const r: number[][] = [];
      for (const kind of cases) r.push(await measure(runtime, kind, cpuB));
      const cells = r.slice(0, 4).map((xs) => `${f(quantile(xs, 0.5))} | ${f(quantile(xs, 0.01))}`);
      console.log(
        `| ${runtime} | ${label} | ${cells.join(" | ")} | ${f(quantile(r[4], 0.5))} | **${
          f(quantile(r[0], 0.5) / quantile(r[2], 0.5), 1)
        }×** | ${f(quantile(r[1], 0.5) / quantile(r[2], 0.5), 1)}× |`,
      );
    }
  }
}
