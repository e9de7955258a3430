// What holder tracking costs: Segment.open()+close() (shm_open, the OFD read
// lock, the fstat/lstat identity check, mmap) and the same bare calls plus
// the holder lock and identity check, against a baseline of bare
// shm_open+mmap+munmap+close through the same FFI, measured in the same run;
// and Segment.list() / Segment.collect({ dryRun }) per segment.
// Usage: <runtime> bench/leaks.bench.ts [rounds=7] [opens-per-round=2000] [segments=200]
import { Segment, uniqueName } from "../mod.ts";
import { libc } from "../posix/libc.ts";
import { openHeld } from "../posix/holders.ts";

const [rounds, perRound, count] = (process.argv.slice(2).map(Number).concat([7, 2000, 200])).slice(0, 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const l = libc();
const { c, lib } = l;

const name = uniqueName("shmb_");
const seg = Segment.create(name, { size: 4096 });
const path = new TextEncoder().encode(`/${name}\0`);

function bare(): void {
  const fd = lib.symbols.shm_open(path, c.O_RDWR, 0) as number;
  const address = lib.symbols.mmap(0n, 4096, c.PROT_READ | c.PROT_WRITE, c.MAP_SHARED, fd, 0) as bigint;
  lib.symbols.munmap(address, 4096);
  lib.symbols.close(fd);
}

function bareHeld(): void {
  const fd = openHeld(l, name, c.O_RDWR);
  const address = lib.symbols.mmap(0n, 4096, c.PROT_READ | c.PROT_WRITE, c.MAP_SHARED, fd, 0) as bigint;
  lib.symbols.munmap(address, 4096);
  lib.symbols.close(fd);
}

function tracked(): void {
  Segment.open(name).close();
}

function rate(fn: () => void): number {
  const t0 = performance.now();
  for (let i = 0; i < perRound; i++) fn();
  return perRound / ((performance.now() - t0) / 1000);
}

const bareRates: number[] = [];
const openRates: number[] = [];
const heldRates: number[] = [];
for (let r = 0; r < rounds; r++) {
  bareRates.push(rate(bare));
  heldRates.push(rate(bareHeld));
  openRates.push(rate(tracked));
}
seg.close();
seg.unlink();

const prefix = uniqueName("shmb_");
const made: Segment[] = [];
for (let i = 0; i < count; i++) made.push(Segment.create(`${prefix}_${i}`, { size: 4096 }));
for (const s of made) s.close();
const listTimes: number[] = [];
const collectTimes: number[] = [];
for (let r = 0; r < rounds; r++) {
  let t0 = performance.now();
  Segment.list();
  listTimes.push(performance.now() - t0);
  t0 = performance.now();
  Segment.collect({ dryRun: true, graceMs: 0, prefix });
  collectTimes.push(performance.now() - t0);
}
const listed = Segment.list().length;
const removed = Segment.collect({ graceMs: 0, prefix }).length;

console.log(JSON.stringify({
  bare_open_per_s: Math.round(median(bareRates)),
  bare_with_hold_per_s: Math.round(median(heldRates)),
  hold_cost_ratio: +(median(bareRates) / median(heldRates)).toFixed(2),
  hold_cost_us: +(1e6 / median(heldRates) - 1e6 / median(bareRates)).toFixed(2),
  segment_open_per_s: Math.round(median(openRates)),
  open_cost_ratio: +(median(bareRates) / median(openRates)).toFixed(2),
  segments_listed: listed,
  list_us_per_segment: +((median(listTimes) * 1000) / listed).toFixed(1),
  collect_dry_us_per_segment: +((median(collectTimes) * 1000) / count).toFixed(1),
  removed,
}));
