// Fuzz peer: for <ms> milliseconds, writes random bytes and words at random places of the segments <names>
// (comma-separated) while another process uses them: a Channel's header and ring ("channel"), or a service's
// header, control area, queues and records ("service"; a segment whose name was removed and made again is
// opened again now and then, so that a service created anew is scribbled too).
// Usage: scribbler.ts <names> <ms> <seed> [channel|service]
import { Segment } from "../../mod.ts";
import { Rng } from "./rng.ts";

const [list, ms, seed, mode = "channel"] = process.argv.slice(2);
const rng = new Rng(Number(seed) ^ 0x5c1b);

interface Target {
  readonly name: string;
  seg: Segment;
  bytes: Uint8Array;
  words: Int32Array;
  /** A publish-subscribe service: its control lock (bytes 128..143) is left alone but rarely. */
  pubsub: boolean;
}

function map(name: string): Target {
  const seg = Segment.open(name);
  // The part a peer shares: at most the first 64 KiB (a view of the whole could be past what a runtime can make).
  const length = Math.min(seg.size, 1 << 16);
  const bytes = seg.region(0, length).bytes();
  const words = seg.region(0, length - (length % 4)).array(Int32Array);
  return { name, seg, bytes, words, pubsub: words.length > 2 && (words[1] & 0xffff) === 1 };
}

/** Maps `t`'s name again when it names another segment now (the service was made anew). */
function remap(t: Target): void {
  try {
    const fresh = map(t.name);
    t.seg.close();
    Object.assign(t, fresh);
  } catch {
    // gone for now: keep scribbling over the old one
  }
}

const targets = list.split(",").map(map);
const until = Date.now() + Number(ms);
let i = 0;
while (Date.now() < until) {
  const t = rng.item(targets);
  const roll = rng.next();
  if (mode === "channel" && roll < 0.5) {
    // a header field: positions, sleeping words, closed flag, magic, capacity
    t.words[rng.item([0, 1, 2, 3, 4, 16, 17, 18, 32, 33, 34])] = rng.pick([
      0,
      -1,
      1,
      8,
      4096,
      8192,
      rng.int(-(2 ** 31), 2 ** 31 - 1),
    ]);
  } else if (mode === "service" && roll < 0.7 && t.words.length > 16) {
    // a header word (magic, kind and version, layout offset, state, size), or a word of the layout after it
    let at = roll < 0.1 ? rng.int(0, 7) : rng.int(16, Math.min(t.words.length, 16 + 2048) - 1);
    if (t.pubsub && at >= 32 && at < 36 && !rng.chance(0.02)) at = rng.int(36, Math.max(36, t.words.length - 1));
    if (at < t.words.length) {
      const was = t.words[at];
      t.words[at] = rng.pick([
        0,
        -1,
        1,
        2,
        8,
        64,
        4096,
        0x7fffffff,
        was + 1,
        was - 1,
        rng.int(-(2 ** 31), 2 ** 31 - 1),
      ]);
    }
  } else {
    const at = rng.int(0, t.bytes.length - 1);
    t.bytes[at] = rng.int(0, 255);
  }
  if (++i % 500 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  if (mode === "service" && i % 5000 === 0) remap(t);
}
for (const t of targets) t.seg.close();
