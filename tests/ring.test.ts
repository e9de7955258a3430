// The Channel's ring as arithmetic over a SharedArrayBuffer: empty, full, wrap-around, long runs against a model
// queue, and corrupt fields; the checks (fit, peek, position, used) never write to the memory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ShmError } from "../mod.ts";
import { EMPTY, HEADER, RECEIVER, recordBytes, SENDER, SENDER_WAITS, WRAP, writeHeader } from "../channel/layout.ts";
import { MARKER, MUST_WRAP, NO_ROOM, NOTHING, Ring } from "../channel/ring.ts";

const CAP = 256;

function setup(cap = CAP) {
  const sab = new SharedArrayBuffer(HEADER + cap);
  const h = new Int32Array(sab, 0, HEADER / 4);
  const d32 = new Int32Array(sab, HEADER, cap / 4);
  writeHeader(h, d32, cap);
  const ring = new Ring(h, new Uint8Array(sab, HEADER, cap), cap);
  return { ring, h, d32, all: new Uint8Array(sab) };
}

/** Sends `payload` if it fits now (the sender's steps); returns whether it did. */
function send(ring: Ring, payload: Uint8Array): boolean {
  const record = recordBytes(payload.length);
  let at = ring.fit(record);
  if (at === MUST_WRAP) {
    ring.wrap();
    at = ring.fit(record);
  }
  if (at < 0) return false;
  ring.payload(at, payload.length).set(payload);
  ring.publish(at, ring.head, payload.length);
  return true;
}

/** Receives a copy of the next message, or null (the receiver's steps). */
function recv(ring: Ring): Uint8Array | null {
  let at = ring.peek();
  if (at === MARKER) {
    ring.skip();
    at = ring.peek();
  }
  if (at === NOTHING) return null;
  const copy = ring.payload(at, ring.length).slice();
  ring.release(ring.tail, ring.length);
  return copy;
}

const isCorrupt = (e: unknown) =>
  e instanceof ShmError && e.code === "ERR_CHANNEL_INVALID" && /corrupt/.test(e.message);

/** Runs `check` and asserts it wrote nothing to the shared memory (whatever it returned or threw). */
function readOnly<T>(all: Uint8Array, check: () => T): T | unknown {
  const before = all.slice();
  let out: T | unknown;
  try {
    out = check();
  } catch (error) {
    out = error;
  }
  assert.deepEqual(all, before, "a check wrote to shared memory");
  return out;
}

test("an empty ring: nothing to read, room for any message, and the checks write nothing", () => {
  const { ring, all } = setup();
  assert.equal(readOnly(all, () => ring.peek()), NOTHING);
  assert.equal(readOnly(all, () => ring.fit(CAP)), 0);
  assert.equal(readOnly(all, () => ring.fit(16)), 0);
  assert.equal(readOnly(all, () => ring.used(ring.position(SENDER), ring.position(RECEIVER))), 0);
});

test("publish, peek, release: the state word carries the length and the lap, release moves tail", () => {
  const { ring, h, d32 } = setup();
  assert.equal(send(ring, new Uint8Array([1, 2, 3])), true);
  assert.equal(d32[0], 4, "state n + 1");
  assert.equal(d32[4], EMPTY, "the next slot is marked empty");
  assert.equal(h[SENDER.position], 16);
  assert.equal(ring.peek(), 0);
  assert.equal(ring.length, 3);
  assert.equal(ring.tail, 0);
  ring.release(0, 3);
  assert.equal(h[RECEIVER.position], 16);
  assert.equal(ring.peek(), NOTHING);
  h[SENDER.position] = h[RECEIVER.position] = CAP + 64; // an odd lap
  assert.equal(send(ring, new Uint8Array(5)), true);
  assert.equal(d32[64 / 4] >>> 0, (6 | 0x80000000) >>> 0, "state n + 1 with the lap bit");
  assert.equal(ring.peek(), 64);
  assert.equal(ring.length, 5);
});

test("a full ring refuses more until the receiver frees room, and never shows a stale record", () => {
  const { ring, all } = setup();
  let sent = 0;
  while (send(ring, new Uint8Array(8).fill(++sent)));
  sent--;
  assert.equal(sent, CAP / 16);
  assert.equal(readOnly(all, () => ring.fit(16)), NO_ROOM);
  for (let i = 1; i <= sent; i++) assert.deepEqual(recv(ring), new Uint8Array(8).fill(i));
  // Full means no slot was free to mark: the state word the receiver meets next is last lap's.
  assert.equal(recv(ring), null);
  assert.equal(send(ring, new Uint8Array(CAP - 8).fill(9)), true, "the largest message fits into the empty ring");
  assert.deepEqual(recv(ring), new Uint8Array(CAP - 8).fill(9));
  assert.equal(recv(ring), null);
});

test("wrap-around: a lone marker is skipped by the sender, one behind messages by the receiver", () => {
  const { ring, h } = setup();
  h[SENDER.position] = h[RECEIVER.position] = 200;
  assert.equal(ring.fit(64), MUST_WRAP);
  assert.equal(ring.wrap(), true, "all the ring held: the sender skips it");
  assert.equal(h[RECEIVER.position], 256);
  assert.equal(ring.fit(64), 0);

  const b = setup();
  b.h[SENDER.position] = b.h[RECEIVER.position] = 160;
  assert.equal(send(b.ring, new Uint8Array(40).fill(1)), true); // 160..208
  assert.equal(b.ring.fit(64), MUST_WRAP);
  assert.equal(b.ring.wrap(), false, "a message is in front of it: the receiver skips it");
  assert.equal(b.d32[208 / 4], WRAP, "a marker of the even lap");
  assert.equal(send(b.ring, new Uint8Array(56).fill(2)), true);
  assert.deepEqual(recv(b.ring), new Uint8Array(40).fill(1));
  assert.equal(b.ring.peek(), MARKER);
  assert.equal(b.ring.skip(), false, "skipped; no sender waits, so nobody to wake");
  assert.equal(b.h[RECEIVER.position], 256);
  assert.deepEqual(recv(b.ring), new Uint8Array(56).fill(2));
  assert.equal(recv(b.ring), null);
  assert.equal(b.h[RECEIVER.position], 256 + 64);
});

test("a long run of random sizes matches a model queue, lap after lap", () => {
  const { ring } = setup();
  let seed = 12345;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const model: Uint8Array[] = [];
  let next = 0;
  for (let step = 0; step < 40_000; step++) {
    if (rand(2) === 0) {
      const m = new Uint8Array(rand(CAP - 7)).fill(next & 255);
      if (send(ring, m)) (model.push(m), next++);
    } else {
      const got = recv(ring);
      const want = model.shift() ?? null;
      assert.deepEqual(got, want, `step ${step}`);
    }
  }
  for (let m = model.shift(); m !== undefined; m = model.shift()) assert.deepEqual(recv(ring), m);
  assert.equal(recv(ring), null);
  assert.ok(next > 2000, `${next} messages`);
});

test("corrupt positions, distances and states throw ERR_CHANNEL_INVALID, and the checks write nothing", () => {
  const cases: [string, (s: ReturnType<typeof setup>) => void, (r: Ring) => unknown][] = [
    ["head not a multiple of 8", (s) => (s.h[SENDER.position] = 4), (r) => r.fit(16)],
    ["head beyond twice the capacity", (s) => (s.h[SENDER.position] = 2 * CAP), (r) => r.fit(16)],
    ["tail negative", (s) => (s.h[RECEIVER.position] = -8), (r) => r.peek()],
    ["head more than the capacity ahead", (s) => (s.h[SENDER.position] = CAP + 64), (r) => r.fit(CAP)],
    ["a record past the end of the data area", (s) => (s.d32[0] = CAP), (r) => r.peek()],
    ["a negative state", (s) => (s.d32[0] = -2), (r) => r.peek()],
    ["a wrap marker at offset 0", (s) => (s.d32[0] = WRAP), (r) => r.peek()],
    ["an odd lap's wrap marker at offset 0", (s) => (s.d32[0] = -1), (r) => r.peek()],
    ["tail with bit 1 set", (s) => (s.h[RECEIVER.position] = 2), (r) => r.peek()],
    ["tail with bit 2 set and the sender's bit", (s) => (s.h[RECEIVER.position] = 5), (r) => r.peek()],
    ["head with bit 0 set (only tail carries a flag)", (s) => (s.h[SENDER.position] = 1), (r) => r.fit(16)],
  ];
  for (const [what, spoil, call] of cases) {
    const s = setup();
    spoil(s);
    const out = readOnly(s.all, () => call(s.ring));
    assert.ok(isCorrupt(out), `${what}: ${String(out)}`);
  }
  // The sender reads tail when the tail it kept shows too little room, and checks it then.
  const s = setup();
  while (send(s.ring, new Uint8Array(8)));
  s.h[RECEIVER.position] = 3;
  assert.ok(isCorrupt(readOnly(s.all, () => s.ring.fit(16))), "tail read for room is checked");
});

test("a ring that found its memory corrupt stays so, for the sender and the receiver", () => {
  const s = setup();
  assert.equal(send(s.ring, new Uint8Array(8)), true);
  s.d32[0] = 1000; // a record longer than the ring
  assert.throws(() => s.ring.peek(), isCorrupt);
  s.d32[0] = 9; // valid again, but the memory was overwritten once: nothing read there is trusted
  assert.throws(() => s.ring.peek(), isCorrupt);
  assert.throws(() => s.ring.fit(16), isCorrupt);
});

test("the sender's waiting bit in tail: set while it waits, returned and cleared by every move of tail", () => {
  const { ring, h } = setup();
  const TAIL = RECEIVER.position;
  assert.equal(send(ring, new Uint8Array(8).fill(1)), true);
  assert.equal(send(ring, new Uint8Array(8).fill(2)), true);
  // Without the bit, a release is one exchange that reports nobody to wake.
  assert.equal(ring.peek(), 0);
  assert.equal(ring.release(ring.tail, ring.length), false);
  assert.equal(h[TAIL], 16);
  // With the bit (the sender announced a sleep), reads of tail mask it off, and the release returns and clears it.
  h[TAIL] |= SENDER_WAITS;
  assert.equal(ring.position(RECEIVER), 16);
  assert.equal(ring.fit(16), 32, "the sender's room check reads through the bit");
  assert.equal(ring.peek(), 16);
  assert.deepEqual(ring.payload(16, ring.length), new Uint8Array(8).fill(2));
  assert.equal(ring.release(ring.tail, ring.length), true, "the sender waits: wake it");
  assert.equal(h[TAIL], 32, "the bit is cleared by the move");

  // Skipping a wrap marker behind a message clears and reports the bit too.
  const b = setup();
  b.h[SENDER.position] = b.h[RECEIVER.position] = 160;
  assert.equal(send(b.ring, new Uint8Array(40).fill(1)), true);
  assert.equal(send(b.ring, new Uint8Array(56).fill(2)), true, "behind a marker at 208");
  assert.deepEqual(recv(b.ring), new Uint8Array(40).fill(1));
  b.h[TAIL] |= SENDER_WAITS;
  assert.equal(b.ring.peek(), MARKER);
  assert.equal(b.ring.skip(), true, "moved while the sender waited: wake it");
  assert.equal(b.h[TAIL], 256);
  assert.deepEqual(recv(b.ring), new Uint8Array(56).fill(2));

  // The sender skips a lone marker even while its own bit is set (it checks for room while announcing a sleep).
  const c = setup();
  c.h[SENDER.position] = 200;
  c.h[TAIL] = 200 | SENDER_WAITS;
  assert.equal(c.ring.fit(64), MUST_WRAP);
  assert.equal(c.ring.wrap(), true);
  assert.equal(c.h[TAIL], 256, "moved, and the bit cleared");
});

test("tail moved by someone else while a message is held is corrupt memory, and found so", () => {
  const { ring, h } = setup();
  assert.equal(send(ring, new Uint8Array(8)), true);
  assert.equal(ring.peek(), 0);
  h[RECEIVER.position] = 64;
  assert.throws(() => ring.release(ring.tail, ring.length), isCorrupt);
  assert.throws(() => ring.peek(), isCorrupt, "and stays so");
});
