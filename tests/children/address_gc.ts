// Child: once unsafeAddress() was handed out, the GC backstop never unmaps the
// mapping; a mapping whose address was never handed out is unmapped (the
// control, so a GC that did not run cannot pass). Prints "ok".
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Segment } from "../../mod.ts";
import { forceGc } from "./force_gc.ts";

const collect = () => forceGc(20, 20);
const [held, control] = [process.argv[2], process.argv[3]];
const mapped = (name: string) => readFileSync("/proc/self/maps", "utf8").includes(`/dev/shm/${name}`);

const native: { address?: bigint } = {};
(() => {
  const seg = Segment.create(held, { size: 1 << 16 });
  seg.unlink();
  seg.bytes()[100] = 42;
  native.address = seg.region(100, 4).unsafeAddress(); // as if a C library kept it
  const other = Segment.create(control, { size: 1 << 16 });
  other.unlink();
  other.bytes()[0] = 1;
})();
await collect();
assert.equal(mapped(control), false, "a mapping nobody uses is released by the backstop");
assert.equal(mapped(held), true, "a mapping whose address was handed out stays mapped");
const line = readFileSync("/proc/self/maps", "utf8").split("\n").find((l) => l.includes(`/dev/shm/${held}`))!;
const [start, end] = line.split(" ")[0].split("-").map((h) => BigInt(`0x${h}`));
assert.ok(native.address! >= start && native.address! < end, "the address lies inside the mapping");
console.log("ok");
