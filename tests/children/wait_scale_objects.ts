// Child for the many-pending-lockAsync and Channel async tests; prints one JSON line per step.
// Segment layout: Int32 header words at byte 0 (word 0: "ready"), then n Mutexes of
// Mutex.BYTES from byte 4096, then n channels of CHANNEL_BYTES each (see objectsLayout).
// Usage: wait_scale_objects.ts <name> <n> <mode>
//   lock        n lockAsync(60 s) on Mutexes the parent holds, then releases: each "locked", unlocked here
//   lock-close  n lockAsync(60 s), then the segment closed here: every one rejects, then the process exits
//   recv        n recvAsync(60 s) on empty channels; the parent sends each its index
//   send        n sendAsync(index, 60 s) on channels the parent filled; the parent then drains them
//   chan-close  recvAsync on the even channels, sendAsync on the odd (filled) ones, then the segment closed
import { readdirSync } from "node:fs";
import { Channel, Mutex, Segment } from "../../mod.ts";
import { objectsLayout } from "./wait_scale_layout.ts";

const [name, count, mode] = process.argv.slice(2);
const n = Number(count);
const seg = Segment.open(name);
const layout = objectsLayout(n);
const header = seg.region(0, 64).array(Int32Array);
const out = (v: unknown) => console.log(JSON.stringify(v));
const threads = () => readdirSync("/proc/self/task").length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const code = (e: unknown) => ({ rejected: (e as { code?: string }).code ?? String(e) });

const threads0 = threads();
const rss0 = process.memoryUsage.rss();
const pending: Promise<unknown>[] = [];
for (let i = 0; i < n; i++) {
  if (mode === "lock" || mode === "lock-close") {
    const m = new Mutex(seg.region(layout.mutex(i), Mutex.BYTES));
    pending.push(m.lockAsync(60_000).then((r) => (r === "timed-out" ? r : (m.unlock(), r)), code));
    continue;
  }
  const ch = Channel.open(seg.region(layout.channel(i), layout.channelBytes));
  const receive = mode === "recv" || (mode === "chan-close" && i % 2 === 0);
  pending.push(
    receive
      ? ch.recvAsync(60_000).then((m) => {
        if (m === null) return "null";
        return m.length === 4 && new DataView(m.buffer, m.byteOffset).getInt32(0, true) === i ? "received" : "wrong";
      }, code)
      : ch.sendAsync(layout.message(i), 60_000).then((sent) => (sent ? "sent" : "not sent"), code),
  );
}
await sleep(300);
out({ addedThreads: threads() - threads0, addedMiB: (process.memoryUsage.rss() - rss0) / 2 ** 20 });
Atomics.store(header, 0, 1);
if (mode.endsWith("close")) seg.close();
const results = await Promise.all(pending);
const tally: Record<string, number> = {};
for (const r of results) {
  const key = typeof r === "string" ? r : JSON.stringify(r);
  tally[key] = (tally[key] ?? 0) + 1;
}
out(tally);
if (!mode.endsWith("close")) seg.close();
