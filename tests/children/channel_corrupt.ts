// Child: corrupts a Channel's header and ring and checks that every call either gives a valid result or throws
// ShmError ERR_CHANNEL_INVALID — never loops, never reads outside the ring. The parent runs it with a time limit.
// Usage: channel_corrupt.ts <segment> <mode> [seed] [rounds]
//   issue     the data area all 0xFF and head = 8: recv(0) must throw
//   fields    each header position and record field set to bad values, one at a time
//   random    seeded random bytes over the header and the ring, <rounds> times
// Prints {cases, threw, valid} on success; exits 1 with the failing case otherwise.
import { Channel, Segment, ShmError } from "../../mod.ts";

const [name, mode, seedArg, roundsArg] = process.argv.slice(2);
const seg = Segment.open(name);
const CAP = 256;
const HEADER = 192;
const bytes = seg.region(0, HEADER + CAP).bytes();
const h = seg.region(0, HEADER).array(Int32Array);
const d32 = seg.region(HEADER, CAP).array(Int32Array);
const HEAD = 16;
const TAIL = 32;
let cases = 0;
let threw = 0;
let valid = 0;

/** A fresh channel holding `inFlight` messages, its position moved to `start` (over a zeroed data area). */
function fresh(start: number, inFlight: number): Channel {
  bytes.fill(0, HEADER);
  const ch = Channel.create(seg.region(0, HEADER + CAP), { capacity: CAP, spinMicros: 0 });
  h[HEAD] = start;
  h[TAIL] = start;
  for (let i = 0; i < inFlight; i++) ch.trySend(new Uint8Array(20 + i * 13).fill(i + 1));
  return ch;
}

/** Runs `call`: a result `check` accepts, or ERR_CHANNEL_INVALID (or ERR_CHANNEL_CLOSED for a scribbled closed flag). */
function expectSafe(what: string, call: () => unknown, check: (r: unknown) => boolean): void {
  cases++;
  let r: unknown;
  try {
    r = call();
  } catch (error) {
    const code = error instanceof ShmError ? error.code : undefined;
    if (code === "ERR_CHANNEL_INVALID" || code === "ERR_CHANNEL_CLOSED") {
      threw++;
      return;
    }
    console.error(`${what}: threw ${(error as Error)?.stack ?? error}`);
    process.exit(1);
  }
  if (!check(r)) {
    console.error(`${what}: invalid result ${String(r)}`);
    process.exit(1);
  }
  valid++;
}

const isMessage = (r: unknown) => r === null || (r instanceof Uint8Array && r.length <= CAP - 8);
const isBool = (r: unknown) => typeof r === "boolean";

/** Every call a user can make, bounded: each one must return or throw the right error. */
function exercise(what: string): void {
  let ch: Channel | undefined;
  expectSafe(`${what}: open`, () => (ch = Channel.open(seg.region(0, HEADER + CAP), { spinMicros: 0 })), () => true);
  if (!ch) return;
  const c = ch;
  for (let i = 0; i < 6; i++) expectSafe(`${what}: recv(0) #${i}`, () => c.recv(0), isMessage);
  expectSafe(`${what}: recv(5)`, () => c.recv(5), isMessage);
  for (const n of [0, 1, 100, CAP - 8]) {
    expectSafe(`${what}: trySend(${n})`, () => c.trySend(new Uint8Array(n)), isBool);
  }
  expectSafe(`${what}: send(64, 5)`, () => c.send(new Uint8Array(64), 5), isBool);
  expectSafe(`${what}: recvInPlace(0)`, () => {
    const m = c.recvInPlace(0);
    if (m !== null) c.release();
    return m;
  }, isMessage);
  expectSafe(`${what}: recv(0) after`, () => c.recv(0), isMessage);
}

if (mode === "issue") {
  fresh(0, 0);
  bytes.fill(0xff, HEADER);
  h[HEAD] = 8;
  expectSafe("data 0xFF, head 8: recv(0)", () => Channel.open(seg).recv(0), () => false);
  exercise("data 0xFF, head 8");
} else if (mode === "fields") {
  const mod = 2 * CAP;
  const badPositions = [-8, -1, 1, 4, 7, mod, mod + 8, 0x7ffffff8, 0x40000000];
  for (const field of [HEAD, TAIL]) {
    for (const value of badPositions) {
      fresh(64, 2);
      h[field] = value;
      exercise(`${field === HEAD ? "head" : "tail"} = ${value}`);
    }
    // In range, but head more than the capacity ahead of tail.
    for (const distance of [CAP + 8, mod - 8]) {
      fresh(64, 0);
      if (field === HEAD) h[HEAD] = (64 + distance) % mod;
      else h[TAIL] = (64 - distance + mod) % mod;
      exercise(`${field === HEAD ? "head" : "tail"} ${distance} bytes apart`);
    }
  }
  // The first record's state word (length + 1): too long, past the end, past head, negative, and wrap markers that lie.
  for (const start of [0, 64, 200, 248, 256 + 64]) {
    for (const len of [CAP, CAP - 7, 0x7fffffff, -2, -0x80000000, 100, 249, 240]) {
      fresh(start, 1);
      d32[(start % CAP) >> 2] = len;
      exercise(`record at ${start} of length ${len}`);
    }
    fresh(start, 1);
    d32[(start % CAP) >> 2] = -1; // a wrap marker where a small record was published
    exercise(`wrap marker at ${start}`);
  }
  fresh(0, 0);
  d32[0] = -1;
  h[HEAD] = CAP; // a wrap marker at offset 0 skipping a whole lap
  exercise("wrap marker at offset 0");
  // Magic, version, capacity, header size, closed, the hints, the CPUs, the sleeping words.
  for (const index of [0, 1, 2, 3, 4, 5, 6, 7, 8, 17, 33]) {
    for (const value of [0, -1, 1, 0x7fffffff]) {
      fresh(64, 2);
      h[index] = value;
      exercise(`header word ${index} = ${value}`);
    }
  }
} else if (mode === "random") {
  // xorshift32: the same seed gives the same bytes in every runtime.
  let x = Number(seedArg) >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
  const rounds = Number(roundsArg);
  for (let round = 0; round < rounds; round++) {
    fresh((next() % 64) * 8, next() % 4);
    const writes = 1 + (next() % 6);
    for (let i = 0; i < writes; i++) {
      const r = next();
      // Mostly the words that move (head, tail, record states), sometimes any byte of header or ring.
      if (r % 3 === 0) h[[HEAD, TAIL][r % 2]] = next() % 3 === 0 ? next() | 0 : (next() % 128) * 4;
      else if (r % 3 === 1) d32[next() % (CAP / 4)] = next() % 2 ? next() | 0 : next() % 300;
      else bytes[next() % (HEADER + CAP)] = next() & 255;
    }
    exercise(`seed ${seedArg} round ${round}`);
  }
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
console.log(JSON.stringify({ cases, threw, valid }));
seg.close();
