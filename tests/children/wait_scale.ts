// Child for the wait-at-scale tests; prints one JSON line per step.
// Segment layout: Int32 header words at byte 0 (word 0: "ready", word 1: "go"),
// the waited words from byte 4096.
// Usage: wait_scale.ts <name> <n> <mode>
//   notify    n waitAsync(…, 60 s) on distinct words, woken by the parent's notify
//   timeout   n waitAsync(…, 400 ms): every one "timed-out", none early
//   close     n waitAsync(…, 60 s), then the segment closed here: every one rejects, then the process exits
import { readdirSync } from "node:fs";
import { Segment, waitAsync } from "../../mod.ts";

const [name, count, mode] = process.argv.slice(2);
const n = Number(count);
const seg = Segment.open(name);
const header = seg.region(0, 64).array(Int32Array);
const words = seg.region(4096, 4 * n).array(Int32Array);
const out = (v: unknown) => console.log(JSON.stringify(v));
const threads = () => readdirSync("/proc/self/task").length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const threads0 = threads();
const rss0 = process.memoryUsage.rss();
const timeout = mode === "timeout" ? 400 : 60_000;
const started = performance.now();
const pending: Promise<unknown>[] = [];
for (let i = 0; i < n; i++) {
  pending.push(
    waitAsync(words, i, 0, timeout).then(
      (r) => ({ r, early: r === "timed-out" && performance.now() - started < timeout }),
      (e) => ({ rejected: (e as { code?: string }).code }),
    ),
  );
}
await sleep(mode === "timeout" ? 100 : 300);
out({ addedThreads: threads() - threads0, addedMiB: (process.memoryUsage.rss() - rss0) / 2 ** 20 });
Atomics.store(header, 0, 1);
if (mode === "close") seg.close();
const results = await Promise.all(pending);
const tally: Record<string, number> = {};
for (const r of results) {
  const key = JSON.stringify(r);
  tally[key] = (tally[key] ?? 0) + 1;
}
out(tally);
if (mode !== "close") seg.close();
