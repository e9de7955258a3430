// The cost of one Atomics call against a plain typed-array access, in one thread: Atomics.load, Atomics.store and
// Atomics.exchange against a plain store and load, over an Int32Array on an ArrayBuffer (what shmem's mappings are)
// and on a SharedArrayBuffer. A publish-subscribe sample makes about ten Atomics calls (README, publish-subscribe).
// Usage: <runtime> bench/atomics_cost.ts   (pin it for steadier figures: taskset -c 0 ...)
const N = 20_000_000;
let sink = 0;

// One loop per kind, so that each compiles on its own.
const loops = {
  plain(w: Int32Array) {
    let s = 0;
    for (let i = 0; i < N; i++) {
      const k = (i & 7) * 16;
      w[k] = i;
      s += w[k + 1];
    }
    return s;
  },
  load(w: Int32Array) {
    let s = 0;
    for (let i = 0; i < N; i++) s += Atomics.load(w, (i & 7) * 16);
    return s;
  },
  store(w: Int32Array) {
    for (let i = 0; i < N; i++) Atomics.store(w, (i & 7) * 16, i);
    return 0;
  },
  exchange(w: Int32Array) {
    let s = 0;
    for (let i = 0; i < N; i++) s += Atomics.exchange(w, (i & 7) * 16, i);
    return s;
  },
};
const kinds = Object.keys(loops) as (keyof typeof loops)[];

function run(w: Int32Array, kind: keyof typeof loops): number {
  const t0 = performance.now();
  sink += loops[kind](w);
  return ((performance.now() - t0) * 1e6) / N;
}

console.log("| buffer | plain store + load | Atomics.load | Atomics.store | Atomics.exchange |");
console.log("|---|---:|---:|---:|---:|");
for (const shared of [false, true]) {
  const w = new Int32Array(shared ? new SharedArrayBuffer(4096) : new ArrayBuffer(4096));
  for (const kind of kinds) run(w, kind); // warm up
  const ns = kinds.map((kind) => Math.min(run(w, kind), run(w, kind)).toFixed(2));
  console.log(`| ${shared ? "SharedArrayBuffer" : "ArrayBuffer"} | ${ns.join(" | ")} |`);
}
if (sink === 0.5) console.log(sink);
