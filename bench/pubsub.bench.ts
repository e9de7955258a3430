// Publish-subscribe benchmarks in Deno, Bun and Node; prints Markdown tables.
// Latency: one way = ping-pong round trip ÷ 2 (as iceoryx2 measures it), payload 64 B to 4 MiB in powers of 4, pinned
// to one CPU and to two, beside the same runtime's raw FFI spin ping-pong and Unix-socket ping-pong (8 bytes), measured
// in the same run by bench/channel_peer.ts. Fan-out: one publisher to 1, 2 and 4 subscribers of 1 MiB samples, samples
// per second per subscriber, against one Unix socket per subscriber.
// Usage: node bench/pubsub.bench.ts [runtimes=deno,bun,node] [tables=latency,fanout,quick,floor] [placements=one,two] [base]
// quick: 64 B only, detached and kept views, beside the raw spin; with [base] (the root of another checkout of this
// project) each 64 B case runs there too, interleaved with this one, and the ratio new ÷ base is printed.
// floor: the bare protocol step by step across two CPUs (bench/pubsub_floor_peer.ts), beside shmem's 64 B figures.
// Needs `taskset` (util-linux) and Linux.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Segment, uniqueName } from "../mod.ts";
import { command } from "../tests/helpers.ts";
import type { Runtime } from "../tests/helpers.ts";

const [runtimes, tables, wanted] = [["deno,bun,node", 2], ["latency,fanout", 3], ["one,two", 4]].map(
  ([fallback, at]) => (process.argv[at as number] ?? fallback as string).split(","),
);
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const SIZES = [64, 256, 1024, 4096, 16384, 65536, 262144, 1 << 20, 4 << 20];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f = (x: number, digits = 2) => x.toFixed(digits);
const size = (n: number) => n >= 1 << 20 ? `${n >> 20} MiB` : n >= 1024 ? `${n >> 10} KiB` : `${n} B`;

function start(runtime: string, cpu: number, script: string, args: string[]): Promise<string> {
  const cmd = ["taskset", "-c", String(cpu), ...command(runtime as Runtime), here(script), ...args];
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
      else reject(new Error(`${runtime} ${script} ${args.join(" ")} failed (${status}): ${out}\n${err}`));
    });
  });
}

const samples = (out: string): number[] => JSON.parse(out.trim().split("\n").pop()!).samples;

/** One of bench/channel_peer.ts's baselines ("spin-ping", "sock-ping"): µs per round trip. */
async function baseline(runtime: string, kind: string, cpuB: number): Promise<number[]> {
  const name = uniqueName("shmbench_");
  const path = join(tmpdir(), `${name}.sock`);
  const seg = Segment.create(name, { size: 65536 });
  try {
    const [a] = await Promise.all([
      start(runtime, 0, "channel_peer.ts", [kind, "a", name, path]),
      start(runtime, cpuB, "channel_peer.ts", [kind, "b", name, path]),
    ]);
    return samples(a);
  } finally {
    seg.close();
    Segment.unlink(name);
    rmSync(path, { force: true });
  }
}

async function pingPong(runtime: string, bytes: number, cpuB: number, keep: boolean, peer = "pubsub_peer.ts") {
  const name = uniqueName("shmbench_");
  const mode = keep ? ["keep"] : [];
  const [a] = await Promise.all([
    start(runtime, 0, peer, ["ps-ping", "a", name, String(bytes), ...mode]),
    start(runtime, cpuB, peer, ["ps-ping", "b", name, String(bytes), ...mode]),
  ]);
  return samples(a);
}

/** Median samples/s of the slowest subscriber. */
async function fanOut(runtime: string, kind: string, subs: number): Promise<number> {
  const name = uniqueName("shmbench_");
  const path = join(tmpdir(), `${name}.sock`);
  const subArgs = (i: number) =>
    kind === "ps-fan" ? [kind, "sub", name, String(i)] : [kind, "sub", name, String(i), path];
  const readers = Array.from({ length: subs }, (_, i) => start(runtime, 1, "pubsub_peer.ts", subArgs(i)));
  const writer = start(runtime, 0, "pubsub_peer.ts", [kind, "pub", name, String(subs), path]);
  const outs = await Promise.all(readers);
  await writer;
  for (let i = 0; i < subs; i++) rmSync(`${path}.${i}`, { force: true });
  return Math.min(...outs.map((o) => median(samples(o))));
}

const placements = ([["one CPU", 0, "one"], ["two CPUs", 1, "two"]] as const).filter(([, , key]) =>
  wanted.includes(key)
);

if (tables.includes("latency")) {
  console.log(
    "One-way latency, µs (median round trip ÷ 2 of 300 batches of 32 round trips, after at least 2,000 and 300 ms to warm up).",
  );
  console.log("A sample is loaned, its first byte written, published; received, its first byte read, released.");
  console.log(
    "views: detached per sample (the default) or kept (detach: false). Raw floor, from bench/channel_peer.ts in",
  );
  console.log(
    "the same run: one word each way over FFI-mapped memory, spun on then slept on (raw spin), or slept on at",
  );
  console.log(
    "once (wait/notify: the floor on one CPU, where spinning first is a trap); socket: 8 bytes, Unix socket.\n",
  );
  console.log(
    `| runtime | placement | views | ${
      SIZES.map(size).join(" | ")
    } | raw spin | wait/notify | Unix socket | 64 B ÷ raw floor |`,
  );
  console.log(`|---|---|---|${SIZES.map(() => "---:|").join("")}---:|---:|---:|---:|`);
  for (const runtime of runtimes) {
    for (const [label, cpuB] of placements) {
      const raw = median(await baseline(runtime, "spin-ping", cpuB)) / 2;
      const futex = median(await baseline(runtime, "futex-ping", cpuB)) / 2;
      const sock = median(await baseline(runtime, "sock-ping", cpuB)) / 2;
      for (const keep of [false, true]) {
        const cells: number[] = [];
        for (const bytes of SIZES) cells.push(median(await pingPong(runtime, bytes, cpuB, keep)) / 2);
        console.log(
          `| ${runtime} | ${label} | ${keep ? "kept" : "detached"} | ${cells.map((x) => f(x)).join(" | ")} | ${
            f(raw)
          } | ${f(futex)} | ${f(sock)} | **${f(cells[0] / Math.min(raw, futex), 1)}×** |`,
        );
      }
    }
  }
}

if (tables.includes("quick")) {
  const base = process.argv[5];
  const basePeer = base === undefined ? undefined : join(base, "bench", "pubsub_peer.ts");
  console.log("64 B one-way latency, µs (median round trip ÷ 2), beside the raw spin" + (base ? ` and ${base}` : ""));
  console.log("\n| runtime | placement | views | 64 B | base 64 B | raw spin | ÷ raw | base ÷ raw | new ÷ base |");
  console.log("|---|---|---|---:|---:|---:|---:|---:|---:|");
  for (const runtime of runtimes) {
    for (const [label, cpuB] of placements) {
      const raw = median(await baseline(runtime, cpuB === 0 ? "futex-ping" : "spin-ping", cpuB)) / 2;
      for (const keep of [false, true]) {
        const old = basePeer === undefined ? NaN : median(await pingPong(runtime, 64, cpuB, keep, basePeer)) / 2;
        const mine = median(await pingPong(runtime, 64, cpuB, keep)) / 2;
        console.log(
          `| ${runtime} | ${label} | ${keep ? "kept" : "detached"} | ${f(mine)} | ${f(old)} | ${f(raw)} | ${
            f(mine / raw, 1)
          }× | ${f(old / raw, 1)}× | ${f(mine / old)} |`,
        );
      }
    }
  }
}

/** One step of bench/pubsub_floor_peer.ts across two CPUs: µs per round trip. */
async function floor(runtime: string, step: string): Promise<number[]> {
  const name = uniqueName("shmbench_");
  const seg = Segment.create(name, { size: 16384 });
  try {
    const [a] = await Promise.all([
      start(runtime, 0, "pubsub_floor_peer.ts", [step, "a", name]),
      start(runtime, 1, "pubsub_floor_peer.ts", [step, "b", name]),
    ]);
    return samples(a);
  } finally {
    seg.close();
    Segment.unlink(name);
  }
}

if (tables.includes("floor")) {
  console.log("\nThe floor of the protocol, 64 B one way across two CPUs, µs (median round trip ÷ 2), beside shmem:");
  console.log(
    "bench/pubsub_floor_peer.ts runs the bare words of the layout, adding one step of the protocol at a time",
  );
  console.log("(raw: one word each way, spun on only; entry: the entry and the payload; tail: + the tail and held");
  console.log("words; step: + the publish step's flag, membership, head and waiting words). shmem: Publisher and");
  console.log(
    "Subscriber with kept and detached views. Ratios are to raw, measured in the same run by the same loop.\n",
  );
  console.log(
    "| runtime | raw | entry | tail | step | shmem kept | shmem detached | step ÷ raw | kept ÷ raw | detached ÷ raw |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const runtime of runtimes) {
    const steps: number[] = [];
    for (const step of ["raw", "entry", "tail", "step"]) steps.push(median(await floor(runtime, step)) / 2);
    const kept = median(await pingPong(runtime, 64, 1, true)) / 2;
    const detached = median(await pingPong(runtime, 64, 1, false)) / 2;
    const raw = steps[0];
    console.log(
      `| ${runtime} | ${[...steps, kept, detached].map((x) => f(x)).join(" | ")} | ${f(steps[3] / raw, 1)}× | ${
        f(kept / raw, 1)
      }× | ${f(detached / raw, 1)}× |`,
    );
  }
}

if (tables.includes("fanout")) {
  console.log("\nFan-out of 1 MiB samples, samples/s per subscriber (the slowest one's median over 30 batches of 32);");
  console.log(
    "publisher on CPU 0, every subscriber on CPU 1. Publish-subscribe: zero copy (the first byte written and",
  );
  console.log("read); Unix socket: each 1 MiB message written to one socket per subscriber.\n");
  console.log("| runtime | subscribers | publish-subscribe | Unix sockets | ratio |");
  console.log("|---|---:|---:|---:|---:|");
  for (const runtime of runtimes) {
    for (const subs of [1, 2, 4]) {
      const ps = await fanOut(runtime, "ps-fan", subs);
      const sock = await fanOut(runtime, "sock-fan", subs);
      console.log(`| ${runtime} | ${subs} | ${f(ps, 0)} | ${f(sock, 0)} | **${f(ps / sock, 1)}×** |`);
    }
  }
}
