// Fuzz peer: for <ms> milliseconds, writes random bytes at random places of
// a Channel's header and ring in segment <name>, while another process uses it.
// Usage: scribbler.ts <name> <ms> <seed>
import { Segment } from "../../mod.ts";
import { Rng } from "./rng.ts";

const [name, ms, seed] = process.argv.slice(2);
const rng = new Rng(Number(seed) ^ 0x5c1b);
const seg = Segment.open(name);
const bytes = seg.bytes();
const words = seg.region(0, seg.size - (seg.size % 4)).array(Int32Array);
const until = Date.now() + Number(ms);
let i = 0;
while (Date.now() < until) {
  if (rng.chance(0.5)) {
    // a header field: positions, sleeping words, closed flag, magic, capacity
    words[rng.item([0, 1, 2, 3, 4, 16, 17, 18, 32, 33, 34])] = rng.pick([
      0,
      -1,
      1,
      8,
      4096,
      8192,
      rng.int(-(2 ** 31), 2 ** 31 - 1),
    ]);
  } else {
    const at = rng.int(0, bytes.length - 1);
    bytes[at] = rng.int(0, 255);
  }
  if (++i % 500 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
}
seg.close();
