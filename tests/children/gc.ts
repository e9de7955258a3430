// Child: the GC backstop closes a forgotten segment as close() would: views the
// program still holds become detached (length 0, never a crash) and the memory
// is unmapped. Prints "ok".
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Segment } from "../../mod.ts";
import { forceGc } from "./force_gc.ts";

const collect = () => forceGc(20, 20);
const name = process.argv[2];
const mapped = () => readFileSync("/proc/self/maps", "utf8").includes(`/dev/shm/${name}`);

const holder: { view?: Uint8Array } = {};
(() => {
  const seg = Segment.create(name, { size: 1 << 16 });
  seg.unlink();
  holder.view = seg.region(4096, 16).bytes();
})();
assert.equal(holder.view!.length, 16);
await collect();
assert.equal(holder.view!.length, 0, "a view of a forgotten segment is detached, as after close()");
assert.equal(holder.view![0], undefined);
assert.equal(mapped(), false, "the mapping is released once the segment is garbage");
console.log("ok");
