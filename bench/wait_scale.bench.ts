// waitAsync at scale and its wake round trip. Not a test: prints two tables.
// Usage:  <runtime> bench/wait_scale.bench.ts [rounds] [baseline-mod.ts]
//   Table 1: n pending waitAsync on distinct words in a fresh child process (10 … 10,000):
//            threads and resident memory added, and how long waking them all took.
//   Table 2: a waitAsync round trip between two processes (the peer uses wait/notify),
//            and the same with the shmem given as baseline (an older checkout's mod.ts), in the same run.
// Pin for stable numbers: `taskset -c 0` (one CPU) or `taskset -c 0,1` (two).
import { spawn, spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import process from "node:process";
import { pathToFileURL } from "node:url";
import * as shmem from "../mod.ts";
import { command } from "../tests/helpers.ts";

const RUNTIME = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const [mode, a1, a2] = process.argv.slice(2);
const self = new URL(import.meta.url).pathname;
const [exe, ...pre] = command(RUNTIME);
const threads = () => readdirSync("/proc/self/task").length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (mode === "scale") {
  const n = Number(a1);
  using seg = shmem.Segment.create(shmem.uniqueName("shmb_"), { size: 4 * n + 4096 });
  const w = seg.region(0, 4 * n).array(Int32Array);
  const t0 = threads(), m0 = process.memoryUsage.rss();
  const all: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) all.push(shmem.waitAsync(w, i, 0, 60_000));
  await sleep(300);
  const t1 = threads(), m1 = process.memoryUsage.rss();
  const s = performance.now();
  for (let i = 0; i < n; i++) {
    Atomics.store(w, i, 1);
    shmem.notify(w, i);
  }
  await Promise.all(all);
  console.log(JSON.stringify({ threads: t1 - t0, mib: (m1 - m0) / 2 ** 20, settleMs: performance.now() - s }));
  seg.unlink();
} else if (mode === "serve") {
  const seg = shmem.Segment.open(a1);
  const w = seg.region(0, 64).array(Int32Array);
  for (let i = 1; i <= Number(a2); i++) {
    while (Atomics.load(w, 0) !== i) shmem.wait(w, 0, i - 1);
    Atomics.store(w, 1, i);
    shmem.notify(w, 1);
  }
  seg.close();
} else {
  const rounds = Number(mode ?? 2000) || 2000;
  const baselinePath = a1;
  console.log(`| ${RUNTIME} | pending waitAsync | added threads | added MiB | wake all, ms |`);
  console.log("|---|---|---|---|---|");
  for (const n of [10, 100, 1000, 10_000]) {
    const r = spawnSync(exe, [...pre, self, "scale", String(n)], { encoding: "utf8" });
    const j = JSON.parse(r.stdout.trim());
    console.log(`| ${RUNTIME} | ${n} | ${j.threads} | ${j.mib.toFixed(1)} | ${j.settleMs.toFixed(0)} |`);
  }
  type Lib = typeof shmem;
  const pingPong = async (lib: Lib): Promise<number[]> => {
    const seg = shmem.Segment.create(shmem.uniqueName("shmb_"), { size: 4096 });
    const mine = lib.Segment.open(seg.name); // through `lib`, so its own wait machinery is measured
    const w = mine.region(0, 64).array(Int32Array);
    const child = spawn(exe, [...pre, self, "serve", seg.name, String(rounds)], { stdio: "inherit" });
    const exited = new Promise((r) => child.on("exit", r));
    const times: number[] = [];
    for (let i = 1; i <= rounds; i++) {
      const t0 = performance.now();
      Atomics.store(w, 0, i);
      lib.notify(w, 0);
      while (Atomics.load(w, 1) !== i) await lib.waitAsync(w, 1, i - 1, 10_000);
      times.push((performance.now() - t0) * 1000);
    }
    await exited;
    mine.close();
    seg.close();
    seg.unlink();
    return times.sort((a, b) => a - b);
  };
  const q = (t: number[], p: number) => t[Math.min(t.length - 1, Math.floor(p * t.length))];
  const base = baselinePath ? (await import(pathToFileURL(baselinePath).href)) as Lib : undefined;
  const runs: [string, number[]][] = [];
  // Interleaved, two passes each; the second pass is reported.
  for (let pass = 0; pass < 2; pass++) {
    const now = await pingPong(shmem);
    const old = base ? await pingPong(base) : undefined;
    if (pass === 1) {
      runs.push(["this shmem", now]);
      if (old) runs.push(["baseline", old]);
    }
  }
  console.log();
  console.log(`| ${RUNTIME} | waitAsync round trip (${rounds} rounds) | median µs | p99 µs | vs baseline |`);
  console.log("|---|---|---|---|---|");
  const ref = runs.find(([k]) => k === "baseline")?.[1];
  for (const [name, t] of runs) {
    const ratio = ref ? `${(q(t, 0.5) / q(ref, 0.5)).toFixed(2)}x` : "";
    console.log(`| ${RUNTIME} | ${name} | ${q(t, 0.5).toFixed(1)} | ${q(t, 0.99).toFixed(1)} | ${ratio} |`);
  }
}
