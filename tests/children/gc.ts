// Child: the GC backstop never unmaps memory a live view still uses, and does
// unmap once the segment and all its views are garbage. Prints "ok".
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Segment } from "../../mod.ts";

const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
const collect = async () => {
  for (let i = 0; i < 20; i++) {
    new Array(10000).fill(0).map((x, j) => ({ x, j })); // churn, so no stale stack slot keeps a buffer
    if (g.Bun) g.Bun.gc(true);
    else g.gc!();
    await new Promise((r) => setTimeout(r, 20));
  }
};
const name = process.argv[2];
const mapped = () => readFileSync("/proc/self/maps", "utf8").includes(`/dev/shm/${name}`);

const holder: { view?: Uint8Array } = {};
(() => {
  const seg = Segment.create(name, { size: 1 << 16 });
  seg.unlink();
  holder.view = seg.region(4096, 16).bytes();
})();
await collect();
assert.equal(mapped(), true, "a live view keeps the mapping");
(() => {
  holder.view![0] = 1;
  assert.equal(holder.view![0], 1);
})();
delete holder.view;
await collect();
assert.equal(mapped(), false, "the mapping is released once nothing uses it");
console.log("ok");
