// Child: a 5 GiB sparse segment; region() reaches every byte in every runtime.
import assert from "node:assert/strict";
import { Segment } from "../../mod.ts";

const name = process.argv[2];
const GiB = 2 ** 30;
const size = 5 * GiB;
const seg = Segment.create(name, { size, reserve: false });
const spots = [0, GiB, 4 * GiB - 4, 4 * GiB, 4.5 * GiB, size - 16];
for (const at of spots) seg.region(at, 4).bytes().set([1, 2, 3, 4]);
// A window across the 4 GiB line, and a large one.
const across = seg.region(4 * GiB - 2, 4).bytes();
assert.deepEqual(Array.from(across), [3, 4, 1, 2]);
const wide = seg.region(GiB / 2, 3 * GiB);
assert.equal(wide.bytes()[GiB / 2], 1);
let whole: number | string;
try {
  whole = seg.bytes().length;
} catch (e) {
  assert.ok(e instanceof RangeError && /region\(/.test(e.message), String(e));
  whole = "RangeError";
}
const peer = Segment.open(name, { readOnly: true });
assert.equal(peer.size, size);
for (const at of spots) assert.deepEqual(Array.from(peer.region(at, 4).bytes()), [1, 2, 3, 4]);
const views = [across, wide.bytes(), peer.region(size - 16, 16).bytes()];
seg.close();
peer.close();
for (const v of views) assert.equal(v.length, 0);
Segment.unlink(name);
console.log(JSON.stringify({ whole }));
