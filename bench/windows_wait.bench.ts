// Windows wake-ups under Wine: round trips between two Windows processes of
// one runtime, with the kernel wait design (named semaphores) against the
// polling one (what shmem did before), measured in the same run. Not a test:
// prints a table. Run from Linux after tools/wine/setup.sh:
//   node bench/windows_wait.bench.ts [runtimes=deno,bun,node] [rounds=2000]
// Pin both processes to one CPU with `taskset -c 0 node bench/...`, or leave
// them free to use two. Each Windows process runs this file again as a child:
//   <runtime> bench/windows_wait.bench.ts child <a|b> <kernel|polling> <wake|channel|channel-nospin> <name> <rounds>
// Cases:
//   wake            ping-pong over two words with wait/notify (a blocking wait, no spinning)
//   channel         ping-pong of 8-byte messages over two Channels (default spinMicros 50)
//   channel-nospin  the same with spinMicros 0: every message goes through a wake-up
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Channel, notify, Segment, ShmError, uniqueName, wait } from "../mod.ts";
import { setWindowsWaitDesign } from "../windows/wait.ts";
import type { WindowsWaitDesign } from "../windows/wait.ts";

const CASES = ["wake", "channel", "channel-nospin"] as const;
const DESIGNS: WindowsWaitDesign[] = ["polling", "kernel"];
const WARMUP = 200;
const BATCH = 16;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** One side of a case, in a Windows process: side a measures and prints `RESULT { samples }` (µs per round trip). */
async function child(side: string, design: WindowsWaitDesign, kind: string, name: string, rounds: number) {
  setWindowsWaitDesign(design);
  let seg: Segment | undefined;
  if (side === "b") seg = Segment.create(name, { size: 3 * 4096 });
  for (const deadline = Date.now() + 60_000; seg === undefined; await sleep(5)) {
    try {
      seg = Segment.open(name);
    } catch (error) {
      if (!(error instanceof ShmError && error.code === "ENOENT") || Date.now() > deadline) throw error;
    }
  }
  const words = seg.region(0, 4096).array(Int32Array);
  const spinMicros = kind === "channel" ? 50 : 0;
  // Side b makes the channels before it says it is ready; side a opens them after.
  const make = (offset: number) =>
    side === "b"
      ? Channel.create(seg!.region(offset, 4096), { spinMicros })
      : Channel.open(seg!.region(offset, 4096), { spinMicros });
  let channels = kind === "wake" || side === "a" ? undefined : [make(4096), make(8192)];
  Atomics.store(words, side === "a" ? 2 : 3, 1); // ready
  while (Atomics.load(words, 2) === 0 || Atomics.load(words, 3) === 0) await sleep(1);
  if (kind !== "wake") channels ??= [make(4096), make(8192)];
  const [mine, theirs] = side === "a" ? [1, 0] : [0, 1];
  const [tx, rx] = channels === undefined ? [] : side === "a" ? channels : [channels[1], channels[0]];
  // One round trip (side a), or one answer (side b, which waits first).
  const one = (i: number) => {
    if (tx === undefined || rx === undefined) {
      if (side === "a") (Atomics.store(words, theirs, i), notify(words, theirs));
      for (let v; (v = Atomics.load(words, mine)) !== i;) wait(words, mine, v, 1000);
      if (side === "b") (Atomics.store(words, theirs, i), notify(words, theirs));
    } else {
      if (side === "a") (tx.reserve(8)![0] = i & 255, tx.commit());
      rx.recvInPlace();
      rx.release();
      if (side === "b") (tx.reserve(8)![0] = i & 255, tx.commit());
    }
  };
  if (side === "b") {
    for (let i = 1; i <= WARMUP + rounds; i++) one(i);
    await sleep(200); // let side a finish with the mapping open
  } else {
    for (let i = 1; i <= WARMUP; i++) one(i);
    const samples: number[] = [];
    for (let i = WARMUP + 1; i <= WARMUP + rounds; i += BATCH) {
      const t0 = performance.now();
      for (let k = 0; k < BATCH; k++) one(i + k);
      samples.push(((performance.now() - t0) * 1000) / BATCH);
    }
    console.log(`RESULT ${JSON.stringify({ samples })}`);
  }
  seg.close();
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Runs this file in a Windows runtime under Wine; resolves with its output and exit status. */
function runWin(runtime: string, args: string[]): Promise<{ status: number | null; output: string }> {
  const pre = runtime === "deno" ? ["deno", "run", "--allow-all", "--quiet"] : [runtime];
  const dir = mkdtempSync(join(tmpdir(), "shmem-wine-bench-"));
  const log = join(dir, "output");
  const fd = openSync(log, "w"); // a file, not a pipe: see tests/windows/wine.ts
  return new Promise((resolve, reject) => {
    const p = spawn("bash", ["tools/wine/run.sh", ...pre, "bench/windows_wait.bench.ts", ...args], {
      cwd: ROOT,
      stdio: ["ignore", fd, fd],
    });
    closeSync(fd);
    p.on("error", reject);
    p.on("exit", (status) => {
      const output = readFileSync(log, "utf8");
      rmSync(dir, { recursive: true, force: true });
      resolve({ status, output });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))];

async function main() {
  const [runtimesArg, roundsArg] = process.argv.slice(2);
  const runtimes = (runtimesArg ?? "deno,bun,node").split(",");
  const rounds = Math.ceil((Number(roundsArg ?? 2000) || 2000) / BATCH) * BATCH;
  console.log(`Windows wake round trips under Wine, ${rounds} per case (median and p99 of batches of ${BATCH}):`);
  console.log("| runtime | case | polling | p99 | kernel | p99 | polling ÷ kernel |");
  console.log("| ------- | ---- | ------: | --: | -----: | --: | ---------------: |");
  for (const runtime of runtimes) {
    for (const kind of CASES) {
      const cells: string[] = [];
      const medians: number[] = [];
      for (const design of DESIGNS) {
        const name = uniqueName("shmwb_");
        const args = (side: string) => ["child", side, design, kind, name, String(rounds)];
        const [b, a] = await Promise.all([runWin(runtime, args("b")), runWin(runtime, args("a"))]);
        const line = a.output.split(/\r?\n/).find((l) => l.startsWith("RESULT "));
        if (a.status !== 0 || b.status !== 0 || line === undefined) {
          throw new Error(`${runtime} ${kind} ${design} failed:\n${a.output}\n${b.output}`);
        }
        const { samples } = JSON.parse(line.slice(7)) as { samples: number[] };
        medians.push(median(samples));
        cells.push(`${median(samples).toFixed(1)} µs`, `${p99(samples).toFixed(1)} µs`);
      }
      console.log(`| ${runtime} | ${kind} | ${cells.join(" | ")} | ${(medians[0] / medians[1]).toFixed(2)}× |`);
    }
  }
}

if (process.argv[2] === "child") {
  const [, side, design, kind, name, rounds] = process.argv.slice(2);
  await child(side, design as WindowsWaitDesign, kind, name, Number(rounds));
} else {
  await main();
}
