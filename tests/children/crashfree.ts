// Child: exercises everything that would crash a careless binding, then prints "survived".
// Usage: crashfree.ts <name>
import assert from "node:assert/strict";
import { Segment } from "../../mod.ts";

const name = process.argv[2];
const seg = Segment.create(name, { size: 1 << 16 });
const bytes = seg.bytes();
const words = seg.region(0, 64).array(Int32Array);
const big = seg.region(8, 8).array(BigInt64Array);
const dv = seg.region(4096, 64).view();
const sub = bytes.subarray(100, 200);
bytes[0] = 1;
seg.close();
// Every old view is detached: reads give undefined, writes are ignored, DataView throws.
assert.equal(bytes.length, 0);
assert.equal(bytes[0], undefined);
bytes[0] = 5;
assert.equal(words[0], undefined);
assert.equal(big[0], undefined);
assert.equal(sub.length, 0);
assert.throws(() => dv.getUint8(0), TypeError);
assert.throws(() => Atomics.add(words, 0, 1), TypeError);
assert.throws(() => bytes.fill(7), TypeError);

// A buffer transferred away by the user keeps the memory mapped instead of crashing.
const seg2 = Segment.open(name);
const stolen = (seg2.bytes().buffer as ArrayBuffer).transfer();
seg2.close();
assert.equal(new Uint8Array(stolen)[0], 1);
new Uint8Array(stolen)[1] = 2;

// A read-only open: writes land in a private copy.
const ro = Segment.open(name, { readOnly: true });
ro.bytes().fill(9);
ro.close();
const check = Segment.open(name);
assert.equal(check.bytes()[2], 0);
check.close();
Segment.unlink(name);
console.log("survived");
