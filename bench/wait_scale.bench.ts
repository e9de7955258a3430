// waitAsync at scale and its wake round trip. Not a test: prints two tables.
// Usage:  <runtime> bench/wait_scale.bench.ts [rounds=2000] [passes=3]     (Linux, needs taskset)
//   Table 1: n pending waitAsync on distinct words in a fresh child process (10 … 10,000), pinned to CPU 0:
//            threads and resident memory added, and how long waking them all from this process took;
//            with futex_waitv, then with the one-word FUTEX_WAIT fallback of Linux before 5.16 (forced).
//   Table 2: a waitAsync round trip between two processes (the peer uses wait/notify), this shmem
//            against the design before one waiter served every wait (one off-thread FUTEX_WAIT per
//            waitAsync, written out below), interleaved in the same run; both processes on CPU 0,
//            then this one on CPU 0 and the peer on CPU 1. One ratio of medians per pass.
import { spawn, spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import process from "node:process";
import * as shmem from "../mod.ts";
import { ffi } from "../ffi/mod.ts";
import { bufferOrigin } from "../internal/views.ts";
import { Waiter } from "../internal/waiter.ts";
import { FUTEX } from "../posix/futex.ts";
import { libc } from "../posix/libc.ts";
import { command } from "../tests/helpers.ts";

const RUNTIME = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const [mode, a1, a2, a3] = process.argv.slice(2);
const self = new URL(import.meta.url).pathname;
const [exe, ...pre] = command(RUNTIME);
const pinned = (cpu: number | string, ...args: string[]) => ["-c", String(cpu), exe, ...pre, self, ...args];
const threads = () => readdirSync("/proc/self/task").length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const q = (t: number[], p: number) => t[Math.min(t.length - 1, Math.floor(p * t.length))];

type WaitAsync = (w: Int32Array, index: number, expected: number, timeoutMs: number) => Promise<string>;

/**
 * `waitAsync` as it was before this design: every call holds one off-thread
 * FUTEX_WAIT of its own (a timespec from a free list), sleeps in slices of
 * 100 ms and re-checks its word after each, with a timer holding the process.
 */
function oneCallPerWait(): WaitAsync {
  const l = libc();
  const s = ffi.open(l.c.libraries, {
    futex_async: {
      name: "syscall",
      parameters: ["i32", "pointer", "i32", "i32", "pointer"],
      result: "i32",
      nonblocking: true,
    },
    malloc: { parameters: ["usize"], result: "pointer" },
  }).symbols;
  const nr = FUTEX.linux.nr[ffi.arch];
  const free: { address: bigint; ts: BigInt64Array }[] = [];
  const take = () => {
    const slot = free.pop();
    if (slot) return slot;
    const address = s.malloc(16) as bigint;
    return { address, ts: new BigInt64Array(ffi.view(address, 16)) };
  };
  return async (w, index, expected, timeoutMs) => {
    const word = w.subarray(index, index + 1);
    const address = bufferOrigin(w.buffer)!.address + BigInt(w.byteOffset + 4 * index);
    if (Atomics.load(word, 0) !== expected) return "not-equal";
    const alive = setInterval(() => {}, 2 ** 30);
    const slot = take();
    try {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        if (word.length === 0) throw new Error("closed");
        if (Atomics.load(word, 0) !== expected) return "ok";
        const left = deadline - performance.now();
        if (left <= 0) return "timed-out";
        const ms = Math.min(left, 100);
        slot.ts[0] = BigInt(Math.floor(ms / 1000));
        slot.ts[1] = BigInt(Math.floor((ms % 1000) * 1e6));
        if ((await s.futex_async(nr, address, FUTEX.linux.FUTEX_WAIT, expected, slot.address)) >= 0) return "ok";
      }
    } finally {
      free.push(slot);
      clearInterval(alive);
    }
  };
}

/** Round trips (µs, sorted) against a peer pinned to `cpu`, waiting with `waitAsync`. */
async function pingPong(waitAsync: WaitAsync, cpu: string, rounds: number): Promise<number[]> {
  const seg = shmem.Segment.create(shmem.uniqueName("shmb_"), { size: 4096 });
  const w = seg.region(0, 64).array(Int32Array);
  const child = spawn("taskset", pinned(cpu, "serve", seg.name, String(rounds)), { stdio: "inherit" });
  const exited = new Promise((r) => child.on("exit", r));
  const times: number[] = [];
  for (let i = 1; i <= rounds; i++) {
    const t0 = performance.now();
    // Waiting first, so that every round goes through an off-thread wait (on one CPU the peer
    // could otherwise answer before the wait starts, in about half of the rounds).
    const reply = waitAsync(w, 1, i - 1, 10_000);
    Atomics.store(w, 0, i);
    shmem.notify(w, 0);
    await reply;
    while (Atomics.load(w, 1) !== i) await waitAsync(w, 1, i - 1, 10_000);
    times.push((performance.now() - t0) * 1000);
  }
  await exited;
  seg.close();
  seg.unlink();
  return times.sort((a, b) => a - b);
}

if (mode === "scale") {
  const n = Number(a1);
  Waiter.singleWord = a2 === "fallback";
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
} else if (mode === "rt") {
  // Pinned to CPU 0 by the caller; the peer goes on CPU a1.
  const [rounds, passes] = [Number(a2), Number(a3)];
  const before = oneCallPerWait();
  const now: number[][] = [], old: number[][] = [];
  await pingPong(shmem.waitAsync, a1, Math.min(rounds, 500)); // warm up
  for (let pass = 0; pass < passes; pass++) {
    now.push(await pingPong(shmem.waitAsync, a1, rounds));
    old.push(await pingPong(before, a1, rounds));
  }
  console.log(JSON.stringify({ now, old }));
} else {
  const rounds = Number(mode ?? 2000) || 2000;
  const passes = Number(a1 ?? 3) || 3;
  console.log(`| ${RUNTIME} | kernel wait | pending waitAsync | added threads | added MiB | wake all, ms |`);
  console.log("|---|---|---|---|---|---|");
  for (const design of ["futex_waitv", "fallback"]) {
    for (const n of [10, 100, 1000, 10_000]) {
      const r = spawnSync("taskset", pinned(0, "scale", String(n), design), { encoding: "utf8" });
      const j = JSON.parse(r.stdout.trim());
      const what = design === "fallback" ? "FUTEX_WAIT (before 5.16)" : design;
      console.log(`| ${RUNTIME} | ${what} | ${n} | ${j.threads} | ${j.mib.toFixed(1)} | ${j.settleMs.toFixed(0)} |`);
    }
  }
  console.log();
  console.log(
    `| ${RUNTIME} | placement | waitAsync round trip, median µs (p99) | before: one call per wait | ratio per pass |`,
  );
  console.log("|---|---|---|---|---|");
  for (const [placement, cpu] of [["one CPU", "0"], ["two CPUs", "1"]]) {
    const r = spawnSync("taskset", pinned(0, "rt", cpu, String(rounds), String(passes)), {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 1 << 26,
    });
    const { now, old } = JSON.parse(r.stdout.trim().split("\n").pop()!) as { now: number[][]; old: number[][] };
    const all = (runs: number[][]) => runs.flat().sort((a, b) => a - b);
    const fmt = (t: number[]) => `${q(t, 0.5).toFixed(1)} (${q(t, 0.99).toFixed(0)})`;
    const ratios = now.map((t, i) => q(t, 0.5) / q(old[i], 0.5)).sort((a, b) => a - b);
    const range = `${ratios[0].toFixed(2)}–${ratios[ratios.length - 1].toFixed(2)}x`;
    console.log(`| ${RUNTIME} | ${placement} | ${fmt(all(now))} | ${fmt(all(old))} | ${range} |`);
  }
}
