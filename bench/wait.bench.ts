// Ping-pong between two processes of one runtime: raw FFI futex vs wait/notify,
// plus the FFI call floor (getpid). Not a test: prints a table.
// Usage (pinned to one CPU):  taskset -c 0 <runtime> bench/wait.bench.ts [rounds]
import { spawn } from "node:child_process";
import process from "node:process";
import { ffi } from "../ffi/mod.ts";
import { libc } from "../posix/libc.ts";
import { notify, Segment, uniqueName, wait } from "../mod.ts";
import { command } from "../tests/helpers.ts";

const RUNTIME = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const [mode, arg1, arg2] = process.argv.slice(2);
const ROUNDS = Number(mode === "child" ? arg2 : mode ?? 20000) || 20000;

const lib = ffi.open(
  libc().c.libraries,
  {
    // long syscall(long number, ...);  futex(int *uaddr, int op, int val, const struct timespec *timeout)
    futex: { name: "syscall", parameters: ["i32", "buffer", "i32", "i32", "buffer"], result: "i32" },
    // pid_t getpid(void);
    getpid: { parameters: [], result: "i32" },
  } as const,
).symbols;
const NR = ffi.arch === "arm64" ? 98 : 202;

type Pair = { wait(w: Int32Array, i: number, v: number): void; wake(w: Int32Array, i: number): void };
const raw: Pair = {
  wait: (w, i, v) => void lib.futex(NR, w.subarray(i, i + 1), 0, v, null),
  wake: (w, i) => void lib.futex(NR, w.subarray(i, i + 1), 1, 1, null),
};
const api: Pair = { wait: (w, i, v) => void wait(w, i, v), wake: (w, i) => void notify(w, i, 1) };

// Words: [kind*2] ping, [kind*2+1] pong, for kind 0 = raw, 1 = api.
function serve(w: Int32Array, p: Pair, base: number, rounds: number): void {
  for (let i = 1; i <= rounds; i++) {
    while (Atomics.load(w, base) !== i) p.wait(w, base, i - 1);
    Atomics.store(w, base + 1, i);
    p.wake(w, base + 1);
  }
}

function ping(w: Int32Array, p: Pair, base: number, rounds: number): number[] {
  const times: number[] = [];
  for (let i = 1; i <= rounds; i++) {
    const t0 = process.hrtime.bigint();
    Atomics.store(w, base, i);
    p.wake(w, base);
    while (Atomics.load(w, base + 1) !== i) p.wait(w, base + 1, i - 1);
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return times.sort((a, b) => a - b);
}

if (mode === "child") {
  const seg = Segment.open(arg1);
  const w = seg.region(0, 64).array(Int32Array);
  serve(w, raw, 0, ROUNDS);
  serve(w, api, 2, ROUNDS);
  serve(w, raw, 4, ROUNDS);
  serve(w, api, 6, ROUNDS);
  seg.close();
} else {
  const q = (t: number[], p: number) => t[Math.min(t.length - 1, Math.floor(p * t.length))];
  const floor = () => {
    const n = 1_000_000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) lib.getpid();
    return Number(process.hrtime.bigint() - t0) / n;
  };
  const seg = Segment.create(uniqueName("shmb_"), { size: 4096 });
  const w = seg.region(0, 64).array(Int32Array);
  const [exe, ...pre] = command(RUNTIME);
  const child = spawn(exe, [...pre, new URL(import.meta.url).pathname, "child", seg.name, String(ROUNDS)], {
    stdio: "inherit",
  });
  const done = new Promise((r) => child.on("exit", r));
  // Two passes each, interleaved; the second of each is reported.
  ping(w, raw, 0, ROUNDS);
  ping(w, api, 2, ROUNDS);
  const r = ping(w, raw, 4, ROUNDS);
  const a = ping(w, api, 6, ROUNDS);
  await done;
  seg.close();
  seg.unlink();
  const ns = floor();
  const row = (name: string, t: number[]) =>
    `| ${RUNTIME} | ${name} | ${q(t, 0.5).toFixed(2)} | ${q(t, 0.99).toFixed(2)} | ${
      (q(t, 0.5) / q(r, 0.5)).toFixed(2)
    }x |`;
  console.log(`| runtime | round trip (${ROUNDS} rounds) | median µs | p99 µs | vs raw futex |`);
  console.log("|---|---|---|---|---|");
  console.log(row("raw FFI futex", r));
  console.log(row("wait/notify", a));
  console.log(`| ${RUNTIME} | FFI floor: getpid() | ${(ns / 1000).toFixed(3)} | | |`);
}
