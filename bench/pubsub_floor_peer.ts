// One side of the publish-subscribe floor benchmark, in any runtime; `node bench/pubsub.bench.ts ... floor` runs two.
// The same ping-pong as `ps-ping` with 64-byte samples, over the bare words of docs/pubsub.md (layout version 3):
// no classes, no checks beyond the sample index, no views handed out, no sleeping. Each step adds what the protocol
// needs to the one before, so the cost of the protocol's own cache lines and barriers can be told apart from the
// cost of shmem's code. The segment (made by the bench) holds one direction per 4 KiB (a to b, then b to a): a ring
// of two 16-byte entries on one line, the subscriber's tail line (tail, held words), the publisher's line
// (publishing flag), the membership word, head and the subscriber's waiting word, then six samples used in turn.
// Usage: <runtime> bench/pubsub_floor_peer.ts <step> a|b <name>
//   raw    one word each way, spun on: the raw spin without its sleeping fallback
//   entry  the publisher writes the sample's first byte, the entry's index, length and seq, then stores its stamp
//          (Atomics.store); the subscriber spins on the stamp, reads the entry, then the sample's first byte: the two
//          lines a hop moves
//   tail   entry, and the subscriber stores its held word and then its tail (Atomics.store) as it takes, and clears
//          the held word as it releases; the publisher reads tail again when the tail it last read says the queue
//          (depth 2) is full
//   step   tail, inside the publish step: the publishing flag stored 1 and the membership word read before the
//          entry, head stored after it, the flag stored 0, then the subscriber's waiting word read
// Side a prints { samples } (see ping_loop.ts); side b runs until side a sets the stop word.
import { Segment } from "../mod.ts";
import { pingLoop } from "./ping_loop.ts";

const [step, side, name] = process.argv.slice(2);
const STEPS = ["raw", "entry", "tail", "step"];
if (!STEPS.includes(step) || (side !== "a" && side !== "b")) {
  console.error(`usage: bench/pubsub_floor_peer.ts ${STEPS.join("|")} a|b <name>`);
  process.exit(2);
}
const level = STEPS.indexOf(step);
const DEPTH = 2;
const SAMPLES = 6;
const DIRECTION = 1024; // words
const STOP = 2 * DIRECTION;
// Word offsets inside a direction.
const RING = 0;
const TAIL = 16;
const HELD = 17;
const PUBLISHING = 32;
const MEMBERSHIP = 48;
const HEAD = 64;
const WAITING = 65;
const SAMPLE_BYTES = 1024; // byte offset of sample 0 in a direction

const seg = Segment.open(name);
const words = seg.region(0, (STOP + 16) * 4).array(Int32Array);
const bytes = seg.region(0, 2 * DIRECTION * 4).bytes();

/** The publishing end of one direction. */
class Out {
  readonly #base: number;
  #head = 0;
  #seen = 0;
  constructor(direction: number) {
    this.#base = direction * DIRECTION;
  }
  send(v: number): void {
    const w = words;
    const base = this.#base;
    const head = this.#head;
    const j = head % SAMPLES;
    bytes[base * 4 + SAMPLE_BYTES + j * 64] = v;
    if (level >= 3) {
      Atomics.store(w, base + PUBLISHING, 1);
      if ((Atomics.load(w, base + MEMBERSHIP) & 1) !== 0) throw new Error("no membership changes here");
    }
    if (level >= 2) {
      while (((head - this.#seen) | 0) >= DEPTH) this.#seen = Atomics.load(w, base + TAIL);
    }
    const at = base + RING + 4 * (head & (DEPTH - 1));
    w[at + 1] = j;
    w[at + 2] = 64;
    w[at + 3] = head;
    Atomics.store(w, at, (head + 1) | 0);
    this.#head = (head + 1) | 0;
    if (level >= 3) {
      w[base + HEAD] = this.#head;
      Atomics.store(w, base + PUBLISHING, 0);
      if (Atomics.load(w, base + WAITING) !== 0) throw new Error("nobody sleeps here");
    }
  }
}

/** The subscribing end of one direction. */
class In {
  readonly #base: number;
  #tail = 0;
  constructor(direction: number) {
    this.#base = direction * DIRECTION;
  }
  /** The next sample's first byte, or -1 once the stop word is set. */
  receive(): number {
    const w = words;
    const base = this.#base;
    const tail = this.#tail;
    const at = base + RING + 4 * (tail & (DEPTH - 1));
    const next = (tail + 1) | 0;
    for (let k = 1; Atomics.load(w, at) !== next; k++) {
      if ((k & 4095) === 0 && Atomics.load(w, STOP) !== 0) return -1;
    }
    const j = w[at + 1];
    if (w[at + 2] !== 64 || w[at + 3] !== tail || j < 0 || j >= SAMPLES) throw new Error("a corrupt entry");
    if (level >= 2) {
      w[base + HELD] = j + 1;
      Atomics.store(w, base + TAIL, next);
    }
    this.#tail = next;
    const v = bytes[base * 4 + SAMPLE_BYTES + j * 64];
    if (level >= 2) Atomics.store(w, base + HELD, 0);
    return v;
  }
}

/** Raw: one word each way. */
function rawSide(mine: number, theirs: number): { send(v: number): void; receive(): number } {
  let sent = 0;
  let seen = 0;
  return {
    send() {
      Atomics.store(words, mine, ++sent);
    },
    receive() {
      for (let k = 1; Atomics.load(words, theirs) === seen; k++) {
        if ((k & 4095) === 0 && Atomics.load(words, STOP) !== 0) return -1;
      }
      seen = Atomics.load(words, theirs);
      return 0;
    },
  };
}

const [mine, theirs] = side === "a" ? [0, 1] : [1, 0];
const out = level === 0 ? rawSide(mine * DIRECTION, theirs * DIRECTION) : new Out(mine);
const inn = level === 0 ? rawSide(mine * DIRECTION, theirs * DIRECTION) : new In(theirs);
// Both sides set their ready word; each waits for the other's.
Atomics.store(words, STOP + 1 + mine, 1);
while (Atomics.load(words, STOP + 1 + theirs) === 0) Atomics.load(words, STOP);

if (side === "a") {
  await pingLoop((i) => {
    out.send(i & 255);
    if (inn.receive() < 0) throw new Error("stopped");
  });
  Atomics.store(words, STOP, 1);
} else {
  for (;;) {
    const v = inn.receive();
    if (v < 0) break;
    out.send(v);
  }
}
seg.close();
