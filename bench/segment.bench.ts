// Segment lifecycle and open costs in one runtime; prints JSON for bench/run.ts.
// Usage: <runtime> bench/segment.bench.ts <rounds> <cycles-per-round>
import { Segment, uniqueName } from "../mod.ts";

const [rounds, perRound] = process.argv.slice(2).map(Number);

function lifecycle(n: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const name = uniqueName("shmb_");
    const seg = Segment.create(name, { size: 4096 });
    seg.bytes()[0] = 1;
    seg.close();
    Segment.unlink(name);
  }
  return n / ((performance.now() - t0) / 1000);
}

/** Median seconds to open an existing segment and get its full view. */
function openAndView(name: string, n: number): number {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const seg = Segment.open(name);
    seg.bytes()[0];
    const t1 = performance.now();
    seg.close();
    times.push((t1 - t0) / 1000);
  }
  return median(times);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

lifecycle(500); // warm up
const rates: number[] = [];
for (let r = 0; r < rounds; r++) rates.push(lifecycle(perRound));

const small = uniqueName("shmb_");
const large = uniqueName("shmb_");
Segment.create(small, { size: 4096 }).close();
Segment.create(large, { size: 2 ** 30, reserve: false }).close();
try {
  openAndView(small, 50);
  openAndView(large, 50);
  const open4k = openAndView(small, 400);
  const open1g = openAndView(large, 400);
  console.log(JSON.stringify({ cycles_per_s: rates, open_4k_s: open4k, open_1g_s: open1g }));
} finally {
  Segment.unlink(small);
  Segment.unlink(large);
}
